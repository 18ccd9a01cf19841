"""Collection query parameters for Apiture (seed L203-647, L3214-3229, digest §8).

- Exactly {RUNNING} or {BLOCKED} use the documented views
  (``runningApplications``/``blockedApplications``); several states use
  ``state=a|b`` on the running view when that view was asked for (L220-221), else
  ``filter=in(state,a|b)``. The filter grammar is not in the seed (§8); we use
  Apiture's expression style, as the sandbox does. ``created_from``/``_to`` become
  ``ge``/``le`` terms on ``createdAt``; several terms are joined with ``and(…)``.
- ``applicant`` (a contact URI, L575) exists only on ``/applications``, so with an
  applicant the views become a state filter there.
- ``customer_id`` has no Apiture counterpart: ValidationFailed, before any call.
- Sort names: domain (``created_at``) or Apiture (``createdAt``) names of the
  sortable fields (L558-564), ``-`` for descending; others are ValidationFailed.
  Enrollments sort only by the fields an enrollment has (``contracts/apiture.yaml``
  ``enrollmentSortBy``: applicantName, state, createdAt, completedAt).
- ``ApplicationQuery.extra`` passes provider parameters through (its ``filter``
  is ANDed with ours).
- No parameter goes out empty (``applicant=``, ``filter=``): the contract allows
  no empty value, so an empty applicant or extra value is ValidationFailed before
  any call, never a request Apiture would refuse.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from adapters.apiture import bodies
from adapters.errors import ValidationFailed, Violation
from adapters.model import ApplicationQuery, Provider, State

APITURE = Provider.APITURE
View = Literal["all", "running", "blocked"]
ENROLLMENT_SORTABLE = frozenset({"applicantName", "state", "createdAt", "completedAt"})
_VIEWS: dict[View, str] = {
    "all": "applications",
    "running": "runningApplications",
    "blocked": "blockedApplications",
}


def application_params(
    query: ApplicationQuery,
    view: View,
    applicant: str | None,
) -> tuple[str, dict[str, str]]:
    """The path (relative to the API root) and parameters, paging excluded."""
    if query.customer_id is not None:
        raise ValidationFailed(
            "Apiture applications cannot be filtered by customer id",
            [Violation(("filter", "customerId"), "not supported by Apiture")],
            provider=APITURE,
        )
    if applicant is not None and not applicant:
        raise ValidationFailed(
            "An Apiture applicant filter needs a contact URI",
            [Violation(("filter", "applicantContact"), "must not be empty")],
            provider=APITURE,
        )
    params: dict[str, str] = {}
    states = set(query.states)
    if applicant is None and view == "all" and states == {State.RUNNING}:
        view, states = "running", set()
    elif applicant is None and view == "all" and states == {State.BLOCKED}:
        view, states = "blocked", set()
    if applicant is not None:
        params["applicant"] = applicant
        if view != "all":  # the views have no applicant parameter (§3.3)
            states = states or {State(view)}
            view = "all"
    terms: list[str] = []
    if states and view == "running":
        params["state"] = "|".join(sorted(s.value for s in states))
    elif states:
        terms.append(f"in(state,{'|'.join(sorted(s.value for s in states))})")
    terms += _date_terms(query)
    _common_params(params, query, terms)
    return _VIEWS[view], params


def enrollment_params(
    query: ApplicationQuery, offset: int, limit: int
) -> dict[str, str]:
    if query.customer_id is not None:
        raise ValidationFailed(
            "Apiture enrollments cannot be filtered by customer id",
            [Violation(("filter", "customerId"), "not supported by Apiture")],
            provider=APITURE,
        )
    params: dict[str, str] = {"start": str(offset), "limit": str(limit)}
    terms: list[str] = []
    if query.states:
        terms.append(f"in(state,{'|'.join(sorted(s.value for s in query.states))})")
    terms += _date_terms(query)
    _common_params(params, query, terms, sortable=ENROLLMENT_SORTABLE)
    return params


def _common_params(
    params: dict[str, str],
    query: ApplicationQuery,
    terms: list[str],
    *,
    sortable: frozenset[str] | None = None,
) -> None:
    if query.search:
        params["q"] = query.search
    try:
        sort_by = bodies.sort_param(query.sort)
        for field in (sort_by or "").split(","):
            if field and sortable is not None and field.lstrip("-") not in sortable:
                raise KeyError(field.lstrip("-"))
    except KeyError as exc:
        raise ValidationFailed(
            "Apiture cannot sort by this field",
            [Violation(("sort",), f"cannot sort by {exc.args[0]}")],
            provider=APITURE,
        ) from None
    if sort_by:
        params["sortBy"] = sort_by
    empty = [key for key, value in query.extra.items() if not value]
    if empty:
        raise ValidationFailed(
            "Apiture query parameters need a value",
            [Violation(("filter", key), "must not be empty") for key in empty],
            provider=APITURE,
        )
    extra = dict(query.extra)
    if "filter" in extra:
        terms.append(extra.pop("filter"))
    if terms:
        params["filter"] = terms[0] if len(terms) == 1 else f"and({','.join(terms)})"
    for key, value in extra.items():
        params.setdefault(key, value)


def _apiture_time(when: datetime) -> str:
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _date_terms(query: ApplicationQuery) -> list[str]:
    terms = []
    if query.created_from is not None:
        terms.append(f"ge(createdAt,{_apiture_time(query.created_from)})")
    if query.created_to is not None:
        terms.append(f"le(createdAt,{_apiture_time(query.created_to)})")
    return terms

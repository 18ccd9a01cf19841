"""Deterministic demo data in the shapes of the seed's examples.

64 applications over every state (pending, running, blocked, canceled, expired,
rejected, approved), a third of them with documents, some joint (a second applicant
who is the primary applicant of another application, so the ``applicant`` filter
finds more than one). 18 enrollments with full applicant and contact data, verified
or not, some with documents and required documents. The same ``seed`` always gives
the same ids, names, amounts and dates.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.apiture.sandbox.store import (
    JSON,
    TERMINAL,
    Store,
    timestamp,
    workflow_state,
)

APPLICATION_PROFILE = (
    "https://api.apiture.com/schemas/accountApplications/application/v1.0.0/"
    "profile.json"
)
CONTACT_PROFILE = "https://api.apiture.com/schemas/contacts/contact/v1.0.0/profile.json"
ROLE_PROFILE = "https://api.apiture.com/schemas/associations/role/v1.0.0/profile.json"
CONSENT_PROFILE = "https://api.apiture.com/schemas/consents/consent/v1.0.0/profile.json"
EXAMPLE = "https://www.example.com"

FIRST = (
    "Elsa", "John", "Maria", "Kwame", "Aiko", "Liam", "Priya", "Noah",
    "Fatima", "Lucas", "Mei", "Omar", "Sofia", "Ivan", "Zara", "Diego",
)  # fmt: skip
LAST = (
    "Snowqueen", "Smith", "Garcia", "Mensah", "Tanaka", "Murphy", "Patel", "Kim",
    "Haddad", "Silva", "Chen", "Farouk", "Rossi", "Petrov", "Okafor", "Lopez",
)  # fmt: skip
PRODUCTS = (
    "Premiere Savings",
    "Personal Checking",
    "6 Month CD",
    "Money Market",
    "Business Checking",
    "Student Checking",
    "12 Month CD",
    "Rewards Checking",
)
BANKS = ("3rd Party Bank", "First Coastal Bank", "Riverside Credit Union")
STATE_CYCLE = (
    "running", "approved", "blocked", "rejected", "canceled",
    "expired", "pending", "running", "approved", "blocked",
)  # fmt: skip
ENROLLMENT_CYCLE = ("running", "running", "blocked", "approved", "rejected", "running")
BASE_TIME = datetime(2019, 1, 7, 9, 30, tzinfo=UTC)


def populate(store: Store) -> None:
    rng = store.rng
    product_ids = {name: store.new_id() for name in PRODUCTS}
    people = [_person(store, i) for i in range(64)]
    for i in range(64):
        state = STATE_CYCLE[i % len(STATE_CYCLE)]
        product = PRODUCTS[(i * 3) % len(PRODUCTS)]
        person = people[i]
        applicants = [_applicant(person, "primaryUser", "Primary User", store)]
        if i % 6 == 5:
            joint = people[(i + 1) % len(people)]
            applicants.append(_applicant(joint, "jointOwner", "Joint Owner", store))
        created = BASE_TIME + timedelta(
            days=i * 3, milliseconds=rng.randrange(86_400_000)
        )
        first = person["firstName"]
        account_name = f"{first}'s {product}" if i % 3 == 0 else f"My {product}"
        app: JSON = {
            "_id": store.new_id(),
            "_profile": APPLICATION_PROFILE,
            "applicantName": f"{first} {person['lastName']}",
            "accountName": account_name,
            "productName": product,
            "fundingAmount": {
                "value": f"{rng.randrange(1, 200) * 25}.00",
                "currency": "USD",
            },
            "state": state,
            "workflowState": workflow_state(state),
            "createdAt": timestamp(created),
        }
        if state in TERMINAL:
            done = created + timedelta(days=rng.randrange(1, 20), hours=3)
            app["completedAt"] = timestamp(done)
        app["fundingAccount"] = _funding_account(app["applicantName"], i, rng)
        business = product.startswith("Business")
        org_id = store.new_id()
        if business:
            app["organizationName"] = f"{person['lastName']} Holdings LLC"
            app["organization"] = {"_id": org_id, "name": app["organizationName"]}
        else:
            app["organization"] = {}
        app["applicants"] = applicants
        app["products"] = [
            {
                "name": product,
                "_links": {
                    "self": {"href": f"/products/products/{product_ids[product]}"}
                },
            }
        ]
        app["documents"] = _documents(store, created, i % 3 == 0, 1 + i % 2)
        app["accountApproval"] = _account_approval(store, app, created)
        app["consents"] = [_consent(store, created, product_ids[product])]
        links: JSON = {
            "self": {"href": f"/accountApplications/applications/{app['_id']}"},
            "apiture:product": {"href": f"/products/products/{product_ids[product]}"},
            "apiture:workflow": {"href": f"/workflow/workflows/{store.new_id()}"},
            "apiture:fundingAccount": {
                "href": f"/accounts/externalAccounts/{store.new_id()}"
            },
            "apiture:applicant": {"href": f"/users/users/{person['userId']}"},
            "apiture:approval": {
                "href": f"/approvals/approvals/{app['accountApproval']['_id']}"
            },
        }
        if business:
            links["apiture:organization"] = {
                "href": f"/organizations/organizations/{org_id}"
            }
        app["_links"] = links
        store.add_application(app)

    for j in range(18):
        person = _person(store, 64 + j)
        state = ENROLLMENT_CYCLE[j % len(ENROLLMENT_CYCLE)]
        verified = state == "approved" or j % 3 != 1
        store.add_enrollment(_enrollment(store, person, state, verified, j))


def person_enrollment(store: Store, i: int, state: str, verified: bool) -> JSON:
    """An enrollment in ``state`` of the ``i``-th made-up person, shaped like the
    demo's (the benchmark's population; created within the demo's 300 days)."""
    return _enrollment(store, _person(store, i), state, verified, i % 60)


def _person(store: Store, i: int) -> JSON:
    first = FIRST[i % 16]
    last = LAST[(i % 16 + 5 * (i // 16)) % 16]
    n = 1000 + i
    return {
        "firstName": first,
        "lastName": last,
        "username": f"{first.lower()}.{last.lower()}{i}",
        "contactId": store.new_id(),
        "userId": store.new_id(),
        "email": f"{first.lower()}.{last.lower()}@example.com",
        "phone": f"(910) 555-{n:04d}",
        "birthdate": f"{1950 + i % 45}-{1 + i % 12:02d}-{1 + i % 28:02d}",
        "taxId": f"{100 + i:03d}-{10 + i % 90:02d}-{1000 + i:04d}",
    }


def _contact(person: JSON, verified: bool, created: datetime) -> JSON:
    cid = person["contactId"]
    return {
        "_id": cid,
        "_profile": CONTACT_PROFILE,
        "firstName": person["firstName"],
        "lastName": person["lastName"],
        "preferredName": person["firstName"],
        "identification": [{"type": "taxId", "value": person["taxId"]}],
        "emailAddresses": [
            {"_id": "ea1", "value": person["email"], "type": "personal"},
        ],
        "preferredEmailAddressId": "ea1",
        "phones": [
            {"_id": "pa1", "type": "mobile", "number": person["phone"]},
        ],
        "preferredPhoneId": "pa1",
        "birthdate": person["birthdate"],
        "citizenship": [{"countryCode": "US", "state": "citizen"}],
        "residencyStatus": "resident",
        "addresses": [
            {
                "_id": "ha1",
                "type": "home",
                "addressLine1": "555 N Front Street",
                "city": "Wilmington",
                "regionCode": "NC",
                "postalCode": "28401-5405",
                "countryCode": "US",
            }
        ],
        "preferredMailingAddressId": "ha1",
        "identityVerification": {
            "provider": "IDology",
            "sessionId": str(100_000 + int(cid[:6], 16) % 900_000),
            "scoredAt": timestamp(created + timedelta(minutes=5)),
            "score": "passed" if verified else "failed",
            "state": "verified" if verified else "unverified",
        },
        "yearsAtAddress": 3,
        "mailingDifferentAddress": False,
        "state": "active",
        "createdAt": timestamp(created),
        "updatedAt": timestamp(created + timedelta(minutes=8)),
        "_links": {
            "self": {"href": f"/contacts/contacts/{cid}"},
            "apiture:deactivate": {"href": f"/contacts/inactiveContacts?contact={cid}"},
        },
    }


def _applicant(person: JSON, role: str, label: str, store: Store) -> JSON:
    verified = True
    return {
        "username": person["username"],
        "contact": _contact(person, verified, BASE_TIME),
        "role": {
            "_id": store.new_id(),
            "_profile": ROLE_PROFILE,
            "name": role,
            "label": label,
        },
        "verified": verified,
    }


def _funding_account(title: str, i: int, rng: Any) -> JSON:
    full = f"{rng.randrange(10**9, 10**10)}"
    return {
        "title": title,
        "institutionName": BANKS[i % len(BANKS)],
        "routingNumber": "021000021",
        "accountNumbers": {"full": full, "masked": "*" * 13 + full[-4:]},
    }


def _documents(store: Store, created: datetime, present: bool, n: int) -> list[JSON]:
    if not present:
        return []
    kinds = (("application/pdf", "2019:1.2.0"), ("image/jpeg", "2019:1.0.0"))
    return [
        {
            "uri": f"/vault/files/{store.new_id()}/content",
            "contentType": kinds[k % 2][0],
            "revisionId": kinds[k % 2][1],
            "revisedAt": timestamp(created + timedelta(hours=k + 1)),
        }
        for k in range(n)
    ]


def _consent(store: Store, created: datetime, product_id: str) -> JSON:
    cid = store.new_id()
    return {
        "_id": cid,
        "_profile": CONSENT_PROFILE,
        "document": {
            "uri": f"/vault/files/{store.new_id()}/content",
            "contentType": "application/pdf",
            "revisionId": "2019:1.02.0",
            "revisedAt": "2019-07-23T08:26:45.375Z",
        },
        "state": "given",
        "givenAt": timestamp(created + timedelta(minutes=2)),
        "type": "productTermsAndConditions",
        "contextUri": f"/products/products/{product_id}",
        "_links": {
            "self": {"href": f"/consents/consents/{cid}"},
            "apiture:revoke": {"href": f"/consents/revokedConsents?consent={cid}"},
            "apiture:rescind": {"href": f"/consents/rescindedConsents?consent={cid}"},
        },
    }


def _account_approval(store: Store, app: JSON, created: datetime) -> JSON:
    approval_id = store.new_id()
    done = app["state"] in TERMINAL
    return {
        "_id": approval_id,
        "label": f"Account Approval: {app['productName']}, {app['applicantName']}",
        "state": "closed" if done else "open",
        "done": done,
        "typeName": "accountApplication",
        "type": {
            "_id": "bd10a515-5da8-40ec-bd4a-f60e958a297b",
            "name": "accountApplication",
            "label": "Account Application",
            "domain": "https://api.apiture.com/approvals",
            "_links": {
                "self": {
                    "href": "/approvals/approvalTypes/"
                    "bd10a515-5da8-40ec-bd4a-f60e958a297b"
                }
            },
        },
        "createdAt": timestamp(created + timedelta(minutes=1)),
        "_links": {"self": {"href": f"/approvals/approvals/{approval_id}"}},
    }


def _enrollment(store: Store, person: JSON, state: str, verified: bool, j: int) -> JSON:
    created = BASE_TIME + timedelta(days=200 + j * 5, minutes=j * 7)
    applicant: JSON = {
        "username": person["username"],
        "contact": _contact(person, verified, created),
        "role": {
            "_id": store.new_id(),
            "_profile": ROLE_PROFILE,
            "name": "primaryUser",
            "label": "Primary User",
        },
        "consents": [_consent(store, created, store.new_id())],
        "verified": verified,
        "verificationToken": store.new_id(),
    }
    data: JSON = {
        "_id": store.new_id(),
        "_profile": "http://example.com",  # the seed's own placeholder (L5788)
        "applicant": applicant,
        "applicants": [applicant],
        "requiredDocuments": (
            [
                {
                    "label": "Driver's license",
                    "type": "governmentId",
                    "productTarget": "personal",
                    "documentUri": f"/vault/files/{store.new_id()}",
                    "category": "driversLicense",
                    "requireIfVerified": j % 2 == 0,
                }
            ]
            if j % 3 != 2
            else []
        ),
        "documents": _documents(store, created, j % 2 == 0, 1),
        "approvals": [],
        "applicantName": f"{person['firstName']} {person['lastName']}",
        "workflowState": workflow_state(state),
        "state": state,
        "flaggedForReview": j % 5 == 4,
        "createdAt": timestamp(created),
    }
    if state in TERMINAL:
        data["completedAt"] = timestamp(created + timedelta(days=2))
    return data

"""The front end's operations (operations/): valid, runnable, and in the manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from graphql import parse, validate

from gateway.operations import (
    DEFAULT_DIR,
    Operation,
    OperationFileError,
    load_operation,
    load_operations,
)
from gateway.persisted import DEFAULT_MANIFEST, manifest_json
from schema.api import schema
from tests.conftest import Gateway
from tests.schema.multipart import File, upload

OPERATIONS = load_operations()
BY_NAME = {o.name: o for o in OPERATIONS}
SUCCESS = {"Application", "Enrollment", "Document"}


def test_the_front_end_operations_are_all_there() -> None:
    expected = {
        "ListApplications",
        "ApplicationDetail",
        "ApplicantDocuments",
        "ApproveApplication",
        "RejectApplication",
        "CancelApplication",
        "ExpireApplication",
        "StartApplication",
        "ListEnrollments",
        "EnrollmentDetail",
        "ApproveEnrollment",
        "RejectEnrollment",
        "UploadDocument",
        "RequestSignature",
        "Providers",
    }
    assert expected <= set(BY_NAME)


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda o: o.name)
def test_every_operation_is_valid_against_the_schema(operation: Operation) -> None:
    errors = validate(schema._schema, parse(operation.text))
    assert not errors, [e.message for e in errors]


@pytest.mark.parametrize(
    "operation",
    [o for o in OPERATIONS if not o.uploads and o.kind != "subscription"],
    ids=lambda o: o.name,
)
async def test_every_operation_runs_with_its_example_variables(
    gateway: Gateway, operation: Operation
) -> None:
    data = await gateway.data(operation.text, dict(operation.variables))
    (root,) = data.values()
    assert root, f"{operation.name} answered {data}"
    if operation.kind == "mutation":
        assert root["__typename"] in SUCCESS, root


@pytest.mark.parametrize("name", ["UploadDocument", "RequestSignature"])
async def test_the_upload_operations_run_as_multipart_requests(
    gateway: Gateway, name: str
) -> None:
    operation = BY_NAME[name]
    assert operation.uploads
    pdf = File("agreement.pdf", "application/pdf", b"%PDF-1.4\n% example\n%%EOF\n")
    data = await upload(
        gateway.client, operation.text, dict(operation.variables), {"file": pdf}
    )
    (result,) = data.values()
    assert result["__typename"] == "Document", result


def test_the_committed_manifest_is_current() -> None:
    assert DEFAULT_MANIFEST.read_text() == manifest_json(OPERATIONS), (
        "operations/persisted-queries.json is stale: run `gateway persisted-manifest`"
    )


def test_a_file_must_hold_one_operation_named_after_it(tmp_path: Path) -> None:
    wrong = tmp_path / "Wrong.graphql"
    wrong.write_text("query Right { providers { name } }")
    with pytest.raises(OperationFileError, match=r"Right\.graphql"):
        load_operation(wrong, tmp_path)
    two = tmp_path / "Two.graphql"
    two.write_text("query Two { providers { name } } query Three { __typename }")
    with pytest.raises(OperationFileError, match="exactly one"):
        load_operation(two, tmp_path)


def test_the_manifest_id_is_the_hash_of_the_normalized_body() -> None:
    operation = BY_NAME["Providers"]
    entry = next(
        e
        for e in json.loads(DEFAULT_MANIFEST.read_text())["operations"]
        if e["name"] == "Providers"
    )
    assert entry["body"].startswith("query Providers {")
    assert "#" not in entry["body"]  # comments are not part of the body
    assert entry["id"] == operation.sha256
    assert operation.path == "providers/Providers.graphql"
    assert DEFAULT_DIR.name == "operations"

"""Every front-end operation (operations/) through the gateway, the contract check on.

One gateway over fresh sandboxes runs each operation with its example variables (the
uploads as multipart requests), then the root fields the operations leave out that
reach connectFi, Auco or Mambu (applications, application, node, nodes, documents,
document, generateDocument, cancelSignature, deleteDocument). The suite's contract
check (``plugin.py``) validates every upstream request and sandbox answer as it
happens and fails this test on any violation; here we also count what it validated
per provider, and require that each provider with a contract was reached.
"""

from __future__ import annotations

import pytest

from adapters.connectfi.sandbox import SEED_CUSTOMER_ID
from adapters.model import Provider
from gateway.operations import load_operations
from schema import ids
from tests.conftest import serve
from tests.contracts.plugin import contract_check
from tests.schema.multipart import File, upload

# Root fields the operations leave out, on the providers with a contract here.
LIST = """query($f: ApplicationFilter) { applications(filter: $f, first: 3) {
  edges { node { id state } } } }"""
ONE = "query($id: ID!) { application(id: $id) { id state } node(id: $id) { id } }"
DOCUMENTS = """query($o: DocumentOwnerInput!) { documents(owner: $o, first: 3) {
  edges { node { id name } } } }"""
DOCUMENT = "query($id: ID!) { document(id: $id) { id } nodes(ids: [$id]) { id } }"
GENERATE = """mutation($input: GenerateDocumentInput!) {
  generateDocument(input: $input) { __typename } }"""
CANCEL = "mutation($id: ID!) { cancelSignature(id: $id) { __typename } }"
DELETE = "mutation($id: ID!) { deleteDocument(id: $id) { __typename } }"
PDF = File("agreement.pdf", "application/pdf", b"%PDF-1.4\n% example\n%%EOF\n")


async def test_every_operation_keeps_every_contract(
    request: pytest.FixtureRequest,
) -> None:
    check = contract_check(request.config)
    before = dict(check.tally.requests)
    answered: dict[str, object] = {}
    async with serve() as gateway:
        for operation in load_operations():
            if operation.kind == "subscription":
                continue  # streams: tests/live
            if operation.uploads:
                data = await upload(
                    gateway.client,
                    operation.text,
                    dict(operation.variables),
                    {"file": PDF},
                )
            else:
                data = await gateway.data(operation.text, dict(operation.variables))
            (answered[operation.name],) = data.values()
        customer = {"customerId": SEED_CUSTOMER_ID, "providers": ["CONNECTFI"]}
        listed = await gateway.data(LIST, {"f": customer})
        edges = listed["applications"]["edges"]
        answered["applications"] = edges
        one = await gateway.data(ONE, {"id": edges[0]["node"]["id"]})
        answered["application"] = one["application"]
        for kind, key in (
            ("MAMBU_CLIENT", "1"),
            ("CONNECTFI_CUSTOMER", SEED_CUSTOMER_ID),
        ):
            owner = {"kind": kind, "id": key}
            found = await gateway.data(DOCUMENTS, {"o": owner})
            answered[kind] = found["documents"]
        mambu_document = answered["MAMBU_CLIENT"]["edges"][0]["node"]["id"]  # type: ignore[index]
        auco_document = ids.encode("Document", Provider.AUCO, "DEMOWAIT01")
        for document_id in (mambu_document, auco_document):
            answered[document_id] = (await gateway.data(DOCUMENT, {"id": document_id}))[
                "document"
            ]
        generated = await gateway.data(
            GENERATE,
            {
                "input": {
                    "workflow": "PERSONAL",
                    "name": "license",
                    "extension": "jpg",
                    "type": "license",
                }
            },
        )
        answered["generateDocument"] = generated["generateDocument"]
        assert generated["generateDocument"]["__typename"] == "Document"
        for mutation, document_id, success in (
            (CANCEL, auco_document, "Document"),
            (DELETE, mambu_document, "Deleted"),
        ):
            (result,) = (await gateway.data(mutation, {"id": document_id})).values()
            assert result["__typename"] == success, result
            answered[mutation] = result

    assert all(answered.values()), answered
    validated = {
        provider: check.tally.requests[provider] - before.get(provider, 0)
        for provider in check.contracts.by_provider
    }
    print("upstream requests validated per provider:", validated)
    assert all(validated.values()), validated
    assert check.found == []  # and plugin.py fails the test on any violation

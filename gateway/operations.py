"""The front end's operations, kept as ``.graphql`` files in ``operations/``.

One operation a file, named after it (``ListApplications.graphql`` holds
``query ListApplications``), with example variables beside it in
``ListApplications.variables.json``. The same files feed GraphiQL's examples, the
tests, the persisted-query manifest and the benchmark.

An operation's ``body`` is its document printed by graphql-core (no comments, one
canonical layout): that is what the manifest stores and hashes, so a client that
sends the same operation laid out differently still matches it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    NamedTypeNode,
    OperationDefinitionNode,
    parse,
    print_ast,
)

# The repository's own folder; absent when the package is installed elsewhere.
DEFAULT_DIR = Path(__file__).resolve().parent.parent / "operations"
UPLOAD_SCALAR = "Upload"


class OperationFileError(ValueError):
    """An operation file that is not exactly one named operation."""


@dataclass(frozen=True)
class Operation:
    name: str
    kind: str  # query, mutation or subscription
    path: str  # relative to the operations folder, with forward slashes
    text: str  # the file as written, comments included: what GraphiQL shows
    variables: Mapping[str, Any] = field(default_factory=dict)
    uploads: bool = False  # takes an Upload variable: needs a multipart client

    @property
    def body(self) -> str:
        return normalize(parse(self.text))

    @property
    def sha256(self) -> str:
        return sha256(self.body)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def normalize(document: DocumentNode) -> str:
    return print_ast(document)


def load_operation(path: Path, root: Path) -> Operation:
    text = path.read_text(encoding="utf-8")
    try:
        document = parse(text)
    except GraphQLError as exc:
        raise OperationFileError(f"{path}: {exc.message}") from exc
    operations = [
        d for d in document.definitions if isinstance(d, OperationDefinitionNode)
    ]
    if len(operations) != 1 or operations[0].name is None:
        raise OperationFileError(f"{path}: expected exactly one named operation")
    operation = operations[0]
    name = operation.name.value if operation.name else ""
    if name != path.stem:
        raise OperationFileError(f"{path}: the file must be named {name}.graphql")
    variables_file = path.with_suffix(".variables.json")
    variables: dict[str, Any] = {}
    if variables_file.exists():
        variables = json.loads(variables_file.read_text(encoding="utf-8"))
    uploads = any(
        _named_type(definition.type) == UPLOAD_SCALAR
        for definition in operation.variable_definitions or ()
    )
    return Operation(
        name=name,
        kind=operation.operation.value,
        path=path.relative_to(root).as_posix(),
        text=text,
        variables=variables,
        uploads=uploads,
    )


def load_operations(root: Path = DEFAULT_DIR) -> list[Operation]:
    """Every operation under ``root``: queries first, each folder's lists first."""
    if not root.is_dir():
        return []
    operations = [load_operation(p, root) for p in sorted(root.rglob("*.graphql"))]
    names = [o.name for o in operations]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise OperationFileError(f"operation names used twice: {duplicates}")
    return sorted(
        operations,
        key=lambda o: (
            o.kind != "query",
            o.path.rpartition("/")[0],
            not o.name.startswith("List"),
            o.name,
        ),
    )


def _named_type(node: Any) -> str:
    while not isinstance(node, NamedTypeNode):
        node = node.type
    return node.name.value

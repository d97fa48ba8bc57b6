"""What this project relies on in Consonance's GraphQL schema, and what a live schema lacks of it.

Nothing here is a hand-kept list of fields: what the project relies on is read from the documents the
connector sends (`functions.connectors.consonance.queries.ALL_DOCUMENTS`, the write-back mutations
included), walked with graphql-core's `TypeInfo` against the project's SDL. Which of those are
*inferred* (not in the transcribed spec) is read from `extensions.graphql`. Only the workarounds — the
settings that make a flow stop asking for an inferred field — are declared here, because a setting's
meaning is not in any schema; a test holds each one to an inferred field and to a real setting.

Schema coordinates are written as the GraphQL schema-coordinates RFC has them: `Type`, `Type.field`,
`Type.field(argument:)`, `Enum.VALUE`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
    get_named_type,
    parse,
)
from graphql.language import (
    ArgumentNode,
    DocumentNode,
    EnumValueNode,
    FieldNode,
    NamedTypeNode,
    ObjectFieldNode,
    OperationDefinitionNode,
    TypeDefinitionNode,
    TypeExtensionNode,
    Visitor,
    visit,
)
from graphql.utilities import TypeInfo, TypeInfoVisitor, type_from_ast
from pydantic import TypeAdapter

from functions.connectors.consonance.queries import ALL_DOCUMENTS
from functions.settings import SETTINGS_MODELS
from infra.deployment_context import CONTEXT_SETTINGS

CONSONANCE_PACKAGE = Path(__file__).resolve().parents[2] / "functions" / "connectors" / "consonance"
PROJECT_SDL = CONSONANCE_PACKAGE / "schema.graphql"
EXTENSIONS_SDL = CONSONANCE_PACKAGE / "extensions.graphql"

_NAME = r"[_A-Za-z][_0-9A-Za-z]*"
_COORDINATE = re.compile(rf"^(?P<type>{_NAME})(?:\.(?P<member>{_NAME})(?:\((?P<argument>{_NAME}):\))?)?$")


@dataclass(frozen=True)
class SchemaCoordinate:
    """A type, a field / input field / enum value of it, or an argument of a field."""

    type_name: str
    member: str | None = None
    argument: str | None = None

    @classmethod
    def parse(cls, text: str) -> SchemaCoordinate:
        match = _COORDINATE.match(text.strip())
        if match is None:
            raise ValueError(f"{text!r} is not a schema coordinate (Type, Type.field or Type.field(argument:))")
        return cls(match["type"], match["member"], match["argument"])

    def __str__(self) -> str:
        text = self.type_name if self.member is None else f"{self.type_name}.{self.member}"
        return text if self.argument is None else f"{text}({self.argument}:)"

    def sort_key(self) -> tuple[str, str, str]:
        return (self.type_name, self.member or "", self.argument or "")

    def contains(self, other: SchemaCoordinate) -> bool:
        """This coordinate is `other` or encloses it (a type its fields, a field its arguments)."""
        if self.type_name != other.type_name:
            return False
        if self.member is None:
            return True
        return self.member == other.member and (self.argument is None or self.argument == other.argument)


Uses = dict[SchemaCoordinate, frozenset[str]]  # coordinate -> the operations that use it


class _Collector(Visitor):
    """Records every type, field, argument, input field and enum value a document names."""

    def __init__(self, type_info: TypeInfo, schema: GraphQLSchema):
        super().__init__()
        self.type_info = type_info
        self.schema = schema
        self.found: set[SchemaCoordinate] = set()
        self.variable_inputs: set[str] = set()
        self.operation: str | None = None

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        self.operation = node.name.value if node.name else node.operation.value
        for definition in node.variable_definitions or ():
            named = get_named_type(type_from_ast(self.schema, definition.type))
            if isinstance(named, GraphQLInputObjectType):
                self.variable_inputs.add(named.name)

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        parent = self.type_info.get_parent_type()
        if parent is not None and not node.name.value.startswith("__"):
            self.found.add(SchemaCoordinate(parent.name, node.name.value))

    def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
        parent, field = self.type_info.get_parent_type(), self.type_info.get_field_def()
        if self.type_info.get_directive() is None and parent is not None and field is not None:
            field_name = next(name for name, candidate in getattr(parent, "fields", {}).items() if candidate is field)
            self.found.add(SchemaCoordinate(parent.name, field_name, node.name.value))

    def enter_object_field(self, node: ObjectFieldNode, *_: Any) -> None:
        parent = self.type_info.get_parent_input_type()
        if parent is not None:
            self.found.add(SchemaCoordinate(get_named_type(parent).name, node.name.value))

    def enter_enum_value(self, node: EnumValueNode, *_: Any) -> None:
        enum = self.type_info.get_input_type()
        if enum is not None:
            self.found.add(SchemaCoordinate(get_named_type(enum).name, node.value))

    def enter_named_type(self, node: NamedTypeNode, *_: Any) -> None:
        self.found.add(SchemaCoordinate(node.name.value))


def _input_fields(schema: GraphQLSchema, type_name: str, seen: set[str]) -> set[SchemaCoordinate]:
    """Every field of an input type sent as a variable (and of the input types inside it): the
    connector builds those values in Python, so the project relies on each field the SDL declares."""
    if type_name in seen:
        return set()
    seen.add(type_name)
    input_type = schema.type_map[type_name]
    assert isinstance(input_type, GraphQLInputObjectType)
    found = {SchemaCoordinate(type_name)}
    for name, field in input_type.fields.items():
        found.add(SchemaCoordinate(type_name, name))
        named = get_named_type(field.type)
        found.add(SchemaCoordinate(named.name))
        if isinstance(named, GraphQLInputObjectType):
            found |= _input_fields(schema, named.name, seen)
    return found


def coordinates_used(documents: Iterable[str], schema: GraphQLSchema) -> Uses:
    """Every schema coordinate the documents use, with the operations that use it."""
    uses: dict[SchemaCoordinate, set[str]] = {}
    for document in documents:
        type_info = TypeInfo(schema)
        collector = _Collector(type_info, schema)
        visit(parse(document), TypeInfoVisitor(type_info, collector))
        found = set(collector.found)
        for type_name in collector.variable_inputs:
            found |= _input_fields(schema, type_name, set())
        for coordinate in found:
            uses.setdefault(coordinate, set()).add(collector.operation or "anonymous")
    return {coordinate: frozenset(operations) for coordinate, operations in uses.items()}


def inferred_coordinates(extensions: DocumentNode) -> set[SchemaCoordinate]:
    """What extensions.graphql adds to the transcribed spec: whole new types, and fields (or enum
    values) added to the spec's types."""
    inferred: set[SchemaCoordinate] = set()
    for definition in extensions.definitions:
        name = definition.name.value  # type: ignore[attr-defined]
        if isinstance(definition, TypeDefinitionNode):
            inferred.add(SchemaCoordinate(name))
        elif isinstance(definition, TypeExtensionNode):
            for member in (getattr(definition, "fields", None) or ()) + (getattr(definition, "values", None) or ()):
                inferred.add(SchemaCoordinate(name, member.name.value))
    return inferred


def _live_type_name(coordinate: SchemaCoordinate, project: GraphQLSchema, live: GraphQLSchema) -> str:
    """The live schema may name its root types differently (e.g. `QueryRoot`): compare roots as roots."""
    for project_root, live_root in ((project.query_type, live.query_type), (project.mutation_type, live.mutation_type)):
        if project_root is not None and coordinate.type_name == project_root.name:
            return live_root.name if live_root is not None else f"(no {project_root.name} root)"
    return coordinate.type_name


def is_present(coordinate: SchemaCoordinate, project: GraphQLSchema, live: GraphQLSchema) -> bool:
    named = live.type_map.get(_live_type_name(coordinate, project, live))
    if named is None:
        return False
    if coordinate.member is None:
        return True
    if isinstance(named, GraphQLEnumType):
        return coordinate.member in named.values
    if not isinstance(named, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)):
        return False
    field = named.fields.get(coordinate.member)
    if field is None:
        return False
    return coordinate.argument is None or coordinate.argument in getattr(field, "args", {})


def absent(uses: Uses, project: GraphQLSchema, live: GraphQLSchema) -> list[SchemaCoordinate]:
    """The used coordinates the live schema lacks; an absent type stands for its absent members."""
    missing: list[SchemaCoordinate] = []
    for coordinate in sorted(uses, key=SchemaCoordinate.sort_key):
        if any(reported.contains(coordinate) for reported in missing):
            continue
        if not is_present(coordinate, project, live):
            missing.append(coordinate)
    return missing


def operations_using(coordinate: SchemaCoordinate, uses: Uses) -> frozenset[str]:
    return frozenset().union(*(operations for used, operations in uses.items() if coordinate.contains(used)))


# ------------------------------------------------------------------------------------- workarounds
@dataclass(frozen=True)
class Workaround:
    """A setting that makes the named operations stop asking for an inferred field."""

    coordinate: SchemaCoordinate
    operations: frozenset[str]
    context_key: str  # the CDK context key holding the JSON setting (infra/deployment_context.py)
    path: tuple[str, ...]  # inside that JSON
    value: str

    @property
    def setting(self) -> str:
        return f'{self.context_key}.{".".join(self.path)} = "{self.value}"'


WORKAROUNDS: tuple[Workaround, ...] = (
    Workaround(
        SchemaCoordinate("Mutation", "updateMarketingText"),
        frozenset({"RecordInternalNotes"}),
        "consonanceMapping",
        ("internal_note_updates",),
        "recreate",
    ),
    Workaround(
        SchemaCoordinate("Contract", "approvalStatus"),
        frozenset({"BrandedProductsById"}),
        "consonanceMapping",
        ("branded", "licence_approval"),
        "signed",
    ),
    Workaround(SchemaCoordinate("Work", "subjectCodes"), frozenset({"MarketedWorks"}), "marketing", ("subject_source",), "bisac_list"),
    Workaround(
        SchemaCoordinate("Work", "onixContentAudienceCodes"), frozenset({"MarketedWorks"}), "marketing", ("audience_source",), "subjects"
    ),
)


def configured_value(context_key: str, path: Sequence[str], environment: Mapping[str, str]) -> Any:
    """The value a deployment has at `path` inside the JSON setting `context_key` (its default when the
    deployment does not set it), read with the very settings model the flows load it with."""
    variable = next(setting.env_var for setting in CONTEXT_SETTINGS if setting.context_key == context_key)
    annotation: Any = next(
        model.model_fields[field].annotation
        for model in SETTINGS_MODELS
        for field, key in model.context_keys.items()
        if key == context_key
    )
    raw = environment.get(variable)
    value: Any = TypeAdapter(annotation).validate_python(json.loads(raw) if raw else {})
    for step in path:
        value = getattr(value, step)
    return value


def is_configured(workaround: Workaround, environment: Mapping[str, str]) -> bool:
    return str(configured_value(workaround.context_key, workaround.path, environment)) == workaround.value


def load_project_schema() -> GraphQLSchema:
    return build_schema(PROJECT_SDL.read_text(encoding="utf-8"))


def load_extensions() -> DocumentNode:
    return parse(EXTENSIONS_SDL.read_text(encoding="utf-8"))


def project_uses(project: GraphQLSchema | None = None) -> Uses:
    return coordinates_used(ALL_DOCUMENTS, project or load_project_schema())

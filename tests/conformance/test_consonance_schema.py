"""The project's Consonance SDL and every document the connector sends, held against the shared,
transcribed Consonance schema (../shared/specs/consonance/schema.graphql) plus the project's declared
extensions (functions/connectors/consonance/extensions.graphql).

- every document in ALL_DOCUMENTS validates against the project SDL (always) and against spec +
  extensions (when the shared spec is present);
- every request the connector actually sends (run against the simulator) validates against spec + extensions;
- the project SDL agrees with the spec on every type, field and argument they share (names, types,
  nullability), and anything it has beyond the spec is declared in the extensions file;
- the extensions file only adds: it redefines no type or field the spec has.
"""

from __future__ import annotations

import secrets

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from graphql import (
    DocumentNode,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
    extend_schema,
    parse,
    validate,
)
from graphql.language import (
    EnumTypeExtensionNode,
    InputObjectTypeExtensionNode,
    InterfaceTypeExtensionNode,
    ObjectTypeExtensionNode,
    TypeDefinitionNode,
)

from functions.connectors.consonance import ConsonanceClient, SpotifyLinkWrite
from functions.connectors.consonance.queries import ALL_DOCUMENTS, spotify_links_mutation
from functions.connectors.http import HttpExchange, HttpService, route_host
from sandbox.catalogue import ApiKey, Catalogue, load_catalogue
from sandbox.clock import VirtualClock
from sandbox.simulators.consonance import ConsonanceSimulator
from tests.recorded_requests import recording_requests

REPO_ROOT = Path(__file__).parents[2]
SHARED_SPEC = REPO_ROOT.parent / "shared/specs/consonance/schema.graphql"
PROJECT_SDL = REPO_ROOT / "functions/connectors/consonance/schema.graphql"
EXTENSIONS = REPO_ROOT / "functions/connectors/consonance/extensions.graphql"

FieldsType = GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType

TEST_KEY = secrets.token_urlsafe(16)  # generated: no credential lives in a fixture


def document_id(document: str) -> str:
    """The operation line, e.g. `mutation RecordSpotifyLinks($w0: CreateWebLinkInput!)`."""
    return next(line for line in document.strip().splitlines() if line.startswith(("query", "mutation"))).rstrip(" {")


@pytest.fixture(scope="module")
def project_schema() -> GraphQLSchema:
    return build_schema(PROJECT_SDL.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def extensions_document() -> DocumentNode:
    return parse(EXTENSIONS.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def spec_schema() -> GraphQLSchema:
    if not SHARED_SPEC.exists():
        pytest.skip(f"shared Consonance spec not present at {SHARED_SPEC} (a clone without ../shared); nothing to hold the SDL against")
    return build_schema(SHARED_SPEC.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def extended_spec(spec_schema: GraphQLSchema, extensions_document: DocumentNode) -> GraphQLSchema:
    return extend_schema(spec_schema, extensions_document)


def own_types(schema: GraphQLSchema) -> dict[str, GraphQLNamedType]:
    return {name: t for name, t in schema.type_map.items() if not name.startswith("__")}


# ------------------------------------------------------------------------------------------- documents
@pytest.mark.parametrize("document", ALL_DOCUMENTS, ids=document_id)
def test_documents_validate_against_the_project_sdl(project_schema: GraphQLSchema, document: str) -> None:
    assert validate(project_schema, parse(document)) == []


@pytest.mark.parametrize("document", ALL_DOCUMENTS, ids=document_id)
def test_documents_validate_against_spec_plus_extensions(extended_spec: GraphQLSchema, document: str) -> None:
    assert validate(extended_spec, parse(document)) == []


@pytest.mark.parametrize("operations", [("create",), ("update",), ("update", "create", "update", "create")])
def test_built_write_back_documents_validate(extended_spec: GraphQLSchema, operations: tuple[str, ...]) -> None:
    assert validate(extended_spec, parse(spotify_links_mutation(operations))) == []  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture
def clock_start(catalogue: Catalogue) -> datetime:
    return catalogue.start_moment()


@pytest.fixture
def sent_by_the_connector(catalogue: Catalogue, virtual_clock: VirtualClock, cleared_routes: None) -> Iterator[list[HttpExchange]]:
    """Drive every connector call against the simulator and collect what went over the wire."""
    with recording_requests() as log:
        simulator = ConsonanceSimulator(virtual_clock, catalogue, page_size=20, api_keys=[ApiKey(key=TEST_KEY)])
        route_host("consonance-conformance.test", simulator)
        http = HttpService("consonance", "https://consonance-conformance.test/graphql", lambda: {"Authorization": f"Bearer {TEST_KEY}"})
        client = ConsonanceClient(http)
        list(client.iter_changed_products(date(2026, 1, 1)))
        client.product(41001)
        [created] = client.record_spotify_links([SpotifyLinkWrite(product_id=41001, url="https://open.spotify.com/episode/a", status="draft")])
        client.record_spotify_links(
            [
                SpotifyLinkWrite(product_id=41001, url="https://open.spotify.com/episode/a", status="live", existing_link_id=created.link_id),
                SpotifyLinkWrite(product_id=41002, url="https://open.spotify.com/episode/b", status="live"),
            ]
        )
        yield log.exchanges


def test_every_request_the_connector_sends_validates_against_spec_plus_extensions(
    extended_spec: GraphQLSchema, sent_by_the_connector: list[HttpExchange]
) -> None:
    assert len(sent_by_the_connector) >= 5
    for exchange in sent_by_the_connector:
        assert exchange.status == 200
        body = exchange.request_body
        assert set(body) == {"query", "operationName", "variables"}
        assert validate(extended_spec, parse(body["query"])) == [], body["operationName"]


# ------------------------------------------------------------------------------------------- the SDL itself
def compare_fields(project_type: FieldsType, other_type: FieldsType, where: str) -> list[str]:
    """Differences in the fields and arguments the two types share (the project may have fewer)."""
    problems: list[str] = []
    for name, field in project_type.fields.items():
        other = other_type.fields.get(name)
        if other is None:
            problems.append(f"{project_type.name}.{name} is not in {where}")
            continue
        if str(field.type) != str(other.type):
            problems.append(f"{project_type.name}.{name}: project {field.type}, {where} {other.type}")
        for arg_name, arg in getattr(field, "args", {}).items():
            other_arg = other.args.get(arg_name)  # type: ignore[union-attr]
            if other_arg is None:
                problems.append(f"{project_type.name}.{name}({arg_name}) is not in {where}")
            elif str(arg.type) != str(other_arg.type):
                problems.append(f"{project_type.name}.{name}({arg_name}): project {arg.type}, {where} {other_arg.type}")
    return problems


def compare_types(project: GraphQLSchema, other: GraphQLSchema, where: str, *, shared_only: bool) -> list[str]:
    problems: list[str] = []
    other_types = own_types(other)
    for name, project_type in own_types(project).items():
        other_type = other_types.get(name)
        if other_type is None:
            if not shared_only:
                problems.append(f"type {name} is not in {where}")
            continue
        if type(project_type) is not type(other_type):
            problems.append(f"{name}: project {type(project_type).__name__}, {where} {type(other_type).__name__}")
            continue
        if isinstance(project_type, GraphQLEnumType):
            assert isinstance(other_type, GraphQLEnumType)
            if extra := set(project_type.values) - set(other_type.values):
                problems.append(f"enum {name} has values not in {where}: {sorted(extra)}")
        if isinstance(project_type, (GraphQLObjectType, GraphQLInterfaceType)):
            assert isinstance(other_type, (GraphQLObjectType, GraphQLInterfaceType))
            if extra := {i.name for i in project_type.interfaces} - {i.name for i in other_type.interfaces}:
                problems.append(f"{name} implements {sorted(extra)} only in the project")
        if isinstance(project_type, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)):
            assert isinstance(other_type, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType))
            found = compare_fields(project_type, other_type, where)
            problems += [p for p in found if not (shared_only and " is not in " in p)]
    return problems


def test_project_sdl_agrees_with_the_spec_on_everything_they_share(project_schema: GraphQLSchema, spec_schema: GraphQLSchema) -> None:
    assert compare_types(project_schema, spec_schema, "the spec", shared_only=True) == []


def test_project_sdl_has_nothing_beyond_spec_plus_declared_extensions(
    project_schema: GraphQLSchema, extended_spec: GraphQLSchema
) -> None:
    assert compare_types(project_schema, extended_spec, "spec + extensions", shared_only=False) == []


def test_required_spec_input_fields_are_kept_in_the_project(project_schema: GraphQLSchema, spec_schema: GraphQLSchema) -> None:
    """Dropping a required input field would let the project send inputs the real API rejects."""
    for name, project_type in own_types(project_schema).items():
        spec_type = spec_schema.type_map.get(name)
        if isinstance(project_type, GraphQLInputObjectType) and isinstance(spec_type, GraphQLInputObjectType):
            required = {n for n, f in spec_type.fields.items() if isinstance(f.type, GraphQLNonNull) and f.default_value is None}
            assert required <= set(project_type.fields), f"{name} lacks required {sorted(required - set(project_type.fields))}"


def test_extensions_only_add(spec_schema: GraphQLSchema, extensions_document: DocumentNode) -> None:
    spec_types = own_types(spec_schema)
    for definition in extensions_document.definitions:
        name = definition.name.value  # type: ignore[attr-defined]
        if isinstance(definition, TypeDefinitionNode):
            assert name not in spec_types, f"extensions redefine type {name}"
            continue
        assert isinstance(
            definition, (ObjectTypeExtensionNode, InterfaceTypeExtensionNode, InputObjectTypeExtensionNode, EnumTypeExtensionNode)
        ), f"unexpected definition {definition.kind}"
        assert name in spec_types, f"extensions extend {name}, which the spec does not have"
        existing = spec_types[name]
        if isinstance(definition, EnumTypeExtensionNode):
            assert isinstance(existing, GraphQLEnumType)
            redefined = {v.name.value for v in definition.values or ()} & set(existing.values)
        else:
            assert isinstance(existing, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType))
            redefined = {f.name.value for f in definition.fields or ()} & set(existing.fields)
        assert not redefined, f"extensions redefine {name}.{sorted(redefined)}"


def test_every_extension_is_also_in_the_project_sdl(
    project_schema: GraphQLSchema, extended_spec: GraphQLSchema, extensions_document: DocumentNode
) -> None:
    """The two files say the same thing: an extension the project SDL lacks (or types differently) is drift."""
    for definition in extensions_document.definitions:
        name = definition.name.value  # type: ignore[attr-defined]
        project_type = project_schema.type_map.get(name)
        if project_type is None:
            # Product implementations the project never queries (PhysicalAudioProduct, GenericProduct) carry
            # the interface field only because GraphQL requires every implementation to have it.
            assert isinstance(definition, ObjectTypeExtensionNode), f"{name} is not in the project SDL"
            continue
        if isinstance(project_type, GraphQLEnumType):  # a new enum: the same values in both files
            extended_enum = extended_spec.type_map[name]
            assert isinstance(extended_enum, GraphQLEnumType) and set(project_type.values) == set(extended_enum.values), name
            continue
        assert isinstance(project_type, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType))
        extended_type = extended_spec.type_map[name]
        assert isinstance(extended_type, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType))
        for field in getattr(definition, "fields", None) or ():
            field_name = field.name.value
            assert field_name in project_type.fields, f"{name}.{field_name} is missing from the project SDL"
            assert str(project_type.fields[field_name].type) == str(extended_type.fields[field_name].type), f"{name}.{field_name}"

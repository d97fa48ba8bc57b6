"""What the doctor derives from the project's own GraphQL documents (infra/ops/consonance_schema.py), and
the simulator option that serves a Consonance lacking some of it."""

from __future__ import annotations

import json

import pytest
from graphql import GraphQLInterfaceType, GraphQLObjectType

from functions.connectors.consonance.queries import branded_products_by_id_query
from functions.connectors.consonance.title_queries import marketed_works_query
from infra.ops.consonance_schema import (
    WORKAROUNDS,
    SchemaCoordinate,
    absent,
    configured_value,
    coordinates_used,
    inferred_coordinates,
    is_configured,
    load_extensions,
    load_project_schema,
    project_uses,
)
from sandbox.simulators.consonance import build_executable_schema

C = SchemaCoordinate.parse


def test_coordinates_parse_and_print_as_the_rfc_writes_them() -> None:
    for text in ("Work", "Work.subjectCodes", "Work.subjectCodes(mainOnly:)", "SubjectCodeScheme.THEMA"):
        assert str(C(text)) == text
    assert C("Work").contains(C("Work.subjectCodes(mainOnly:)")) and C("Work.subjectCodes").contains(C("Work.subjectCodes(mainOnly:)"))
    assert not C("Work.subjectCodes(mainOnly:)").contains(C("Work.subjectCodes"))
    with pytest.raises(ValueError, match="not a schema coordinate"):
        C("Work.subjectCodes(mainOnly)")


def test_every_kind_of_use_is_found_with_its_operations() -> None:
    uses = project_uses()
    assert uses[C("WebLink.description")] >= {"ChangedAudioProducts", "RecordSpotifyLinks"}  # selected, and selected in a payload
    assert uses[C("Work.subjectCodes(mainOnly:)")] == {"AnalyticsWorks"}  # an argument
    assert "ChangedAudioProducts" in uses[C("ProductSearchAttributes.changedSince")]  # a field of an input literal
    assert uses[C("SubjectCodeScheme.THEMA")] == {"AnalyticsWorks"}  # an enum value
    assert uses[C("CreateWebLinkInput.description")] == {"RecordSpotifyLinks"}  # an input sent as a variable: its fields
    assert uses[C("Mutation.updateMarketingText")] == {"RecordInternalNotes"}
    assert C("Person") in uses  # an inline fragment's type


def test_the_project_sdl_has_everything_the_documents_use() -> None:
    project = load_project_schema()
    assert absent(project_uses(project), project, project) == []


def test_an_absent_type_is_reported_once_not_per_member() -> None:
    project = load_project_schema()
    live = build_executable_schema(without=["Product.extents"])
    uses = coordinates_used([branded_products_by_id_query(1, contract_status=True)], project)
    assert absent(uses, project, live) == [C("Product.extents")]


def test_inferred_coordinates_come_from_the_extensions_file() -> None:
    inferred = inferred_coordinates(load_extensions())
    assert {C("WebLink.description"), C("Work.contracts"), C("Mutation.createWebLink"), C("ProductExtent")} <= inferred
    assert C("Work.title") not in inferred


@pytest.mark.parametrize("workaround", WORKAROUNDS, ids=lambda w: str(w.coordinate))
def test_each_workaround_covers_an_inferred_field_the_named_operations_use(workaround) -> None:  # type: ignore[no-untyped-def]
    inferred = inferred_coordinates(load_extensions())
    assert any(i.contains(workaround.coordinate) for i in inferred), "a workaround for a field the spec has"
    assert workaround.operations <= project_uses()[workaround.coordinate]


@pytest.mark.parametrize("workaround", WORKAROUNDS, ids=lambda w: str(w.coordinate))
def test_each_workaround_is_a_real_setting_with_a_valid_value(workaround) -> None:  # type: ignore[no-untyped-def]
    variable = {"consonanceMapping": "MAPPING", "marketing": "MARKETING"}[workaround.context_key]
    assert not is_configured(workaround, {})  # the default asks for the inferred field
    document: dict[str, object] = {}
    cursor = document
    for step in workaround.path[:-1]:
        cursor = cursor.setdefault(step, {})  # type: ignore[assignment]
    cursor[workaround.path[-1]] = workaround.value
    assert is_configured(workaround, {variable: json.dumps(document)})
    assert str(configured_value(workaround.context_key, workaround.path, {variable: json.dumps(document)})) == workaround.value


def test_the_document_workarounds_really_drop_the_field() -> None:
    """Where the workaround changes the document (not only the flow's choice of mutation), the document
    built with it does not use the field."""
    project = load_project_schema()
    signed = coordinates_used([branded_products_by_id_query(1, contract_status=False)], project)
    assert C("Contract.approvalStatus") not in signed
    plain = coordinates_used([marketed_works_query(1, "bisac_list", "subjects")], project)
    assert C("Work.subjectCodes") not in plain and C("Work.onixContentAudienceCodes") not in plain


def test_the_simulator_drops_fields_arguments_and_mutations() -> None:
    schema = build_executable_schema(without=["Product.extents", "Work.subjectCodes(mainOnly:)", "Mutation.updateMarketingText"])
    product = schema.type_map["Product"]
    assert isinstance(product, GraphQLInterfaceType) and "extents" not in product.fields
    assert all("extents" not in t.fields for t in schema.get_implementations(product).objects)  # from every implementation too
    work = schema.type_map["Work"]
    assert isinstance(work, GraphQLObjectType) and list(work.fields["subjectCodes"].args) == ["schemesIn"]
    assert schema.mutation_type is not None and "updateMarketingText" not in schema.mutation_type.fields
    with pytest.raises(ValueError, match="no WebLink.nope"):
        build_executable_schema(without=["WebLink.nope"])

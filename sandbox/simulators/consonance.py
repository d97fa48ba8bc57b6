"""A Consonance stand-in: `POST /graphql` executed with graphql-core against the project's own SDL
(functions/connectors/consonance/schema.graphql) over an in-memory catalogue (sandbox/catalogue.py).

What it enforces, as the real API does (or as graphql-ruby servers do where Consonance is undocumented):
- Bearer API key: a missing or unknown key is a 401 with a JSON error body; a read-only key may query but
  its mutations fail with a GraphQL authorisation error (HTTP 200, `extensions.code: UNAUTHORIZED`);
- parse and validation errors are HTTP 200 with `{"errors": [...]}` and no `data` (graphql-ruby's
  standard controller); execution errors come back beside `data`;
- `changedSince` is a DATE: a product counts as changed on the latest date its own record, its work, a
  contract covering the work, a credited contributor or its series changed (so sibling edits fire it);
- `after` id paging with a server page size (default 25) and no page-size argument; ordered by id;
- `productTypes` filters by GraphQL type name;
- a rolling rate limit per key and fault injection from the `Simulator` base class.

`createWebLink` / `updateWebLink` change the catalogue and bump the product's changed date (the poller
then sees a "change" whose content is the same: it must emit nothing). `write_backs` records them for the
sandbox report; `apply_due_changes(now)` applies the catalogue's scripted timeline edits that are due.

A query's answer is kept and given again to the same query (same variables, key and page size) until
something may have changed the records: a mutation, a timeline edit, or anyone taking `catalogue` (a
test or script that may edit it). The poller and the licence sweep ask for the same day's changes every
15 minutes, and executing a query is the simulator's whole cost; rate limits and faults still apply
to every request, before the answer is looked up.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from graphql import (
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    build_ast_schema,
    build_schema,
    execute_sync,
    parse,
    validate,
)
from graphql.language import (
    REMOVE,
    DocumentNode,
    EnumValueDefinitionNode,
    FieldDefinitionNode,
    InputValueDefinitionNode,
    TypeDefinitionNode,
    TypeExtensionNode,
    ValueNode,
    Visitor,
    visit,
)
from graphql.utilities import value_from_ast_untyped

from functions.clock import Clock
from functions.domain.validation import plain_text
from sandbox.catalogue import (
    ApiKey,
    Catalogue,
    ContractEntry,
    MarketingTextEntry,
    ContributorEntry,
    ProductEntry,
    ProductionFileEntry,
    SeriesEntry,
    TimelineEdit,
    WebLinkEntry,
    WorkEntry,
)
from infra.ops.consonance_schema import SchemaCoordinate
from sandbox.simulators.base import FaultPlan, RollingWindowLimit, Simulator, json_response, request_json

PROJECT_SDL_PATH = Path(__file__).resolve().parents[2] / "functions" / "connectors" / "consonance" / "schema.graphql"
GRAPHQL_PATH = "/graphql"
ANSWERS_KEPT = 64  # distinct queries answered from memory until the records change
MAX_DESCRIPTION_LENGTH = 255  # the simulator's rule for a web link description (a plausible DB column)

GraphQLView = dict[str, Any]


@dataclass(frozen=True)
class WriteBack:
    """One web-link mutation the simulator applied (for the sandbox report)."""

    at: datetime
    operation: str  # "createWebLink" | "updateWebLink"
    product_id: int
    link_id: int
    link: str
    description: str | None


@dataclass(frozen=True)
class NoteWritten:
    """One marketing-text mutation the simulator applied (for the sandbox report)."""

    at: datetime
    operation: str  # "createMarketingText" | "updateMarketingText"
    text_id: int
    work_id: int | None
    product_ids: tuple[int, ...]
    internal_markdown: str


@dataclass(frozen=True)
class AppliedEdit:
    at: datetime
    edit: TimelineEdit


def _parse_iso_date(value: Any) -> date:
    if not isinstance(value, str):
        raise GraphQLError(f"ISO8601Date must be a string, got {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise GraphQLError(f"{value!r} is not an ISO 8601 date") from exc


def _parse_iso_date_literal(node: ValueNode, variables: dict[str, Any] | None = None) -> date:
    return _parse_iso_date(value_from_ast_untyped(node, variables))


def _serialize_iso_date(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _serialize_iso_moment(value: Any) -> str:
    """A moment as graphql-ruby's ISO8601DateTime answers it (seconds, offset)."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
        return moment.isoformat(timespec="seconds")
    return str(value)


def build_executable_schema(sdl_path: Path = PROJECT_SDL_PATH, without: Sequence[str] = ()) -> GraphQLSchema:
    """The project SDL with real date coercion (the spec declares ISO8601Date as a scalar), less the
    fields and arguments named in `without` (see `schema_without`)."""
    sdl = sdl_path.read_text(encoding="utf-8")
    schema = schema_without(sdl, without) if without else build_schema(sdl)
    moment = schema.type_map.get("ISO8601DateTime")
    if isinstance(moment, GraphQLScalarType):
        moment.serialize = _serialize_iso_moment  # type: ignore[method-assign]
    iso_date = schema.type_map["ISO8601Date"]
    assert isinstance(iso_date, GraphQLScalarType)
    iso_date.serialize = _serialize_iso_date  # type: ignore[method-assign]
    iso_date.parse_value = _parse_iso_date  # type: ignore[method-assign]
    iso_date.parse_literal = _parse_iso_date_literal  # type: ignore[method-assign]
    return schema


class _Remover(Visitor):
    """Drops field, input-field, argument and enum-value definitions named by schema coordinate."""

    def __init__(self, doomed: set[SchemaCoordinate]):
        super().__init__()
        self.doomed = doomed
        self.dropped: set[SchemaCoordinate] = set()

    def _drop(self, coordinate: SchemaCoordinate) -> object:
        if coordinate in self.doomed:
            self.dropped.add(coordinate)
            return REMOVE
        return None

    @staticmethod
    def _owners(ancestors: list[Any]) -> list[Any]:
        return [a for a in ancestors if isinstance(a, (TypeDefinitionNode, TypeExtensionNode, FieldDefinitionNode))]

    def enter_field_definition(self, node: FieldDefinitionNode, _key: Any, _parent: Any, _path: Any, ancestors: list[Any]) -> object:
        return self._drop(SchemaCoordinate(self._owners(ancestors)[-1].name.value, node.name.value))

    def enter_input_value_definition(self, node: InputValueDefinitionNode, _key: Any, _parent: Any, _path: Any, ancestors: list[Any]) -> object:
        owners = self._owners(ancestors)
        if isinstance(owners[-1], FieldDefinitionNode):  # an argument
            return self._drop(SchemaCoordinate(owners[-2].name.value, owners[-1].name.value, node.name.value))
        return self._drop(SchemaCoordinate(owners[-1].name.value, node.name.value))  # an input field

    def enter_enum_value_definition(self, node: EnumValueDefinitionNode, _key: Any, _parent: Any, _path: Any, ancestors: list[Any]) -> object:
        return self._drop(SchemaCoordinate(self._owners(ancestors)[-1].name.value, node.name.value))


def schema_without(sdl: str, coordinates: Sequence[str]) -> GraphQLSchema:
    """The SDL's schema as a real Consonance would be that lacks some of what the project assumes:
    each of `coordinates` (`Type.field`, `Type.field(argument:)`, `Input.field`, `Enum.VALUE`) is
    removed; a field removed from an interface is removed from every type implementing it. A
    coordinate the SDL does not have is an error, so a test cannot remove nothing by a typo."""
    full = build_schema(sdl)
    doomed: set[SchemaCoordinate] = set()
    for text in coordinates:
        coordinate = SchemaCoordinate.parse(text)
        if coordinate.member is None:
            raise ValueError(f"{text!r}: name a field, argument or enum value to remove, not a whole type")
        doomed.add(coordinate)
        interface = full.type_map.get(coordinate.type_name)
        if isinstance(interface, GraphQLInterfaceType):
            implementations = full.get_implementations(interface)
            for implementation in (*implementations.objects, *implementations.interfaces):
                doomed.add(SchemaCoordinate(implementation.name, coordinate.member, coordinate.argument))
    remover = _Remover(doomed)
    document = visit(parse(sdl), remover)
    unknown = sorted(str(c) for c in {SchemaCoordinate.parse(text) for text in coordinates} - remover.dropped)
    if unknown:
        raise ValueError(f"the SDL has no {', '.join(unknown)} to remove")
    return build_ast_schema(document)


@dataclass(frozen=True)
class _Lookups:
    """The catalogue's records by id (the first of an id, as a list search finds), built once per state
    of the records: `changedSince` looks up every product's work, contracts, series and contributors,
    which searched lists were quadratic in a 500-product catalogue."""

    products: dict[int, ProductEntry]
    works: dict[int, WorkEntry]
    series: dict[int, SeriesEntry]
    contributors: dict[int, ContributorEntry]
    contracts_by_work: dict[int, tuple[ContractEntry, ...]]

    @classmethod
    def of(cls, catalogue: Catalogue) -> _Lookups:
        def by_id(records: Sequence[Any]) -> dict[int, Any]:
            found: dict[int, Any] = {}
            for record in records:
                found.setdefault(record.id, record)
            return found

        contracts: dict[int, list[ContractEntry]] = {}
        for contract in sorted(catalogue.contracts, key=lambda c: c.id):
            for work_id in dict.fromkeys(contract.work_ids):
                contracts.setdefault(work_id, []).append(contract)
        return cls(
            products=by_id(catalogue.products),
            works=by_id(catalogue.works),
            series=by_id(catalogue.series),
            contributors=by_id(catalogue.contributors),
            contracts_by_work={work_id: tuple(found) for work_id, found in contracts.items()},
        )


class ConsonanceSimulator(Simulator):
    service = "consonance"

    def __init__(
        self,
        clock: Clock,
        catalogue: Catalogue,
        *,
        page_size: int = 25,
        requests_per_minute: int | None = 300,
        faults: FaultPlan | None = None,
        api_keys: list[ApiKey] | None = None,
        sdl_path: Path = PROJECT_SDL_PATH,
        without: Sequence[str] = (),
    ):
        """`sdl_path` serves another SDL; `without` removes fields, arguments or mutations from it by
        schema coordinate (e.g. `WebLink.description`, `Work.subjectCodes(mainOnly:)`,
        `Mutation.updateMarketingText`): how the connector and `infra.ops doctor` cope if the real API
        lacks something the project inferred."""
        rate_limit = RollingWindowLimit(clock, requests_per_minute, 60.0) if requests_per_minute else None
        super().__init__(clock, faults=faults, rate_limit=rate_limit)
        if page_size < 1:
            raise ValueError("page_size must be positive")
        self._catalogue = catalogue.model_copy(deep=True)
        self.page_size = page_size
        self.keys = {k.key: k for k in (api_keys if api_keys is not None else self._catalogue.api_keys)}
        self.schema = build_executable_schema(sdl_path, without)
        self.write_backs: list[WriteBack] = []
        self.notes_written: list[NoteWritten] = []
        self._next_text_id = max((t.id for t in self._catalogue.marketing_texts), default=0) + 900_001
        self._prepared: dict[str, tuple[DocumentNode, list[Any], bool]] = {}
        self._answers: dict[tuple[str, str, str | None, str, int], dict[str, Any]] = {}
        self._lookups_now: _Lookups | None = None
        self.applied_edits: list[AppliedEdit] = []
        self._pending_edits = sorted(self._catalogue.timeline, key=self._catalogue.due_at)
        self._next_link_id = 1 + max((link.id for p in self._catalogue.products for link in p.web_links), default=900_000)

    @property
    def catalogue(self) -> Catalogue:
        """The simulator's records, to read or edit: whoever takes them may change them, so answers
        kept so far are forgotten."""
        self._forget()
        return self._catalogue

    @property
    def _records_created_at(self) -> datetime:
        """When a file record without its own time was made: the catalogue's records_changed_on."""
        return datetime.combine(self._catalogue.records_changed_on, time(0, 0), tzinfo=timezone.utc)

    # ---------------------------------------------------------------------------------- transport
    def authenticate(self, request: httpx.Request) -> str | httpx.Response:
        header = request.headers.get("Authorization", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return json_response(401, {"errors": [{"message": "Missing API key: send 'Authorization: Bearer <key>'"}]})
        if key.strip() not in self.keys:
            return json_response(401, {"errors": [{"message": "Invalid API key"}]})
        return key.strip()

    def route(self, request: httpx.Request, credential: str) -> httpx.Response:
        if request.url.path.rstrip("/") != GRAPHQL_PATH:
            return json_response(404, {"errors": [{"message": f"No route matches {request.url.path}"}]})
        if request.method != "POST":
            return json_response(405, {"errors": [{"message": "Use POST for GraphQL requests"}]}, {"Allow": "POST"})
        try:
            body = request_json(request)
        except ValueError:
            return json_response(400, {"errors": [{"message": "The request body is not JSON"}]})
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return json_response(400, {"errors": [{"message": "Expected a JSON object with a 'query' string"}]})
        variables = body.get("variables") or {}
        if not isinstance(variables, dict):
            return json_response(200, {"errors": [{"message": "'variables' must be a JSON object"}]})
        return json_response(200, self.execute(body["query"], variables, body.get("operationName"), self.keys[credential]))

    def execute(self, query: str, variables: dict[str, Any], operation_name: str | None, key: ApiKey) -> dict[str, Any]:
        """Run one GraphQL request; the body graphql-ruby would send (errors without data when invalid)."""
        prepared = self._prepared.get(query)
        if prepared is None:  # parse and validate a document once, as GraphQL servers cache them
            try:
                document = parse(query)
            except GraphQLError as error:
                return {"errors": [error.formatted]}
            reads_only = all(
                definition.operation is OperationType.QUERY
                for definition in document.definitions
                if isinstance(definition, OperationDefinitionNode)
            )
            prepared = (document, [e.formatted for e in validate(self.schema, document)], reads_only)
            if len(self._prepared) < 256:
                self._prepared[query] = prepared
        document, validation_errors, reads_only = prepared
        if validation_errors:
            return {"errors": validation_errors}
        asked = (query, json.dumps(variables, sort_keys=True, default=str), operation_name, key.key, self.page_size)
        if reads_only and asked in self._answers:
            return self._answers[asked]
        if not reads_only:
            self._forget()
        result = execute_sync(
            self.schema,
            document,
            root_value=self._root(key),
            variable_values=variables,
            operation_name=operation_name,
        )
        response: dict[str, Any] = {}
        if result.errors:
            response["errors"] = [e.formatted for e in result.errors]
        if result.data is not None or not result.errors:
            response["data"] = result.data
        if reads_only and len(self._answers) < ANSWERS_KEPT:
            self._answers[asked] = response
        return response

    # ---------------------------------------------------------------------------------- catalogue look-ups
    def _product(self, product_id: int) -> ProductEntry | None:
        return self._lookups().products.get(product_id)

    def _work(self, work_id: int) -> WorkEntry | None:
        return self._lookups().works.get(work_id)

    def _series(self, series_id: int) -> SeriesEntry | None:
        return self._lookups().series.get(series_id)

    def _contributor(self, contributor_id: int) -> ContributorEntry | None:
        return self._lookups().contributors.get(contributor_id)

    def _contracts_of(self, work_id: int) -> list[ContractEntry]:
        return list(self._lookups().contracts_by_work.get(work_id, ()))

    def _lookups(self) -> _Lookups:
        if self._lookups_now is None:
            self._lookups_now = _Lookups.of(self._catalogue)
        return self._lookups_now

    def _forget(self) -> None:
        """The records may have changed: kept answers and look-ups are rebuilt when next needed."""
        self._answers.clear()
        self._lookups_now = None

    def changed_on(self, product: ProductEntry) -> date:
        """The date Consonance's changedSince sees for a product: its own or any sibling record's."""
        baseline = self._catalogue.records_changed_on
        dates = [product.changed_on or baseline]
        work = self._work(product.work_id)
        if work is not None:
            dates.append(work.changed_on or baseline)
            dates += [c.changed_on or baseline for c in self._contracts_of(work.id)]
            series = self._series(work.series_id) if work.series_id is not None else None
            if series is not None:
                dates.append(series.changed_on or baseline)
        for contribution in product.contributions:
            contributor = self._contributor(contribution.contributor_id)
            if contributor is not None:
                dates.append(contributor.changed_on or baseline)
        return max(dates)

    # ---------------------------------------------------------------------------------- resolvers
    def _root(self, key: ApiKey) -> GraphQLView:
        return {
            "products": self._resolve_products,
            "product": self._resolve_product,
            "work": self._resolve_work,
            "createWebLink": lambda info, input: self._create_web_link(key, input),
            "updateWebLink": lambda info, input: self._update_web_link(key, input),
            "createMarketingText": lambda info, input: self._create_marketing_text(key, input),
            "updateMarketingText": lambda info, input: self._update_marketing_text(key, input),
        }

    def _resolve_work(self, info: GraphQLResolveInfo, workSearch: dict[str, Any] | None = None) -> GraphQLView | None:  # noqa: N803
        work_id = (workSearch or {}).get("idEq")
        work = self._work(work_id) if work_id is not None else None
        return self._work_view(work) if work is not None else None

    def _matching(self, search: dict[str, Any]) -> list[ProductEntry]:
        products = sorted(self._catalogue.products, key=lambda p: p.id)
        if search.get("idEq") is not None:
            products = [p for p in products if p.id == search["idEq"]]
        if search.get("isbn13Eq") is not None:
            products = [p for p in products if p.isbn13 == search["isbn13Eq"]]
        if search.get("productTypes") is not None:
            wanted = set(search["productTypes"])
            products = [p for p in products if p.type in wanted]
        if search.get("changedSince") is not None:
            since: date = search["changedSince"]
            products = [p for p in products if self.changed_on(p) >= since]
        if search.get("after") is not None:
            products = [p for p in products if p.id > search["after"]]
        return products

    def _resolve_products(self, info: GraphQLResolveInfo, productSearch: dict[str, Any] | None = None) -> list[GraphQLView]:  # noqa: N803 (GraphQL argument name)
        page = self._matching(productSearch or {})[: self.page_size]
        return [self._product_view(p) for p in page]

    def _resolve_product(self, info: GraphQLResolveInfo, productSearch: dict[str, Any] | None = None) -> GraphQLView | None:  # noqa: N803
        matches = self._matching(productSearch or {})
        return self._product_view(matches[0]) if matches else None

    def _product_view(self, product: ProductEntry) -> GraphQLView:
        work = self._work(product.work_id)
        return {
            "__typename": product.type,
            "id": product.id,
            "title": product.title,
            "subtitle": product.subtitle,
            "fullTitle": product.full_title,
            "isbn": {"isbn13": product.isbn13} if product.isbn13 else None,
            "onixPublishingStatusCode": product.publishing_status,
            "allowOnixExports": product.allow_onix_exports,
            "publicationDate": product.publication_date,
            "plannedPublicationDate": product.planned_publication_date,
            "forSaleCountryCodes": list(product.for_sale),
            "notForSaleCountryCodes": list(product.not_for_sale),
            "isForSaleWorldwide": product.for_sale_worldwide,
            "contributions": lambda info: self._contribution_views(product),
            "marketingTexts": lambda info, variantIn=None: self._marketing_text_views(product, variantIn),
            "webLinks": [self._web_link_view(link) for link in product.web_links],
            "productionFiles": [self._production_file_view(f) for f in product.production_files],
            "extents": [
                {"onixExtentTypeCode": e.type, "extentValue": e.value, "onixExtentUnitCode": e.unit} for e in product.extents
            ],
            "work": (lambda info: self._work_view(work)) if work is not None else None,
        }

    def _contribution_views(self, product: ProductEntry) -> list[GraphQLView]:
        views: list[GraphQLView] = []
        for index, contribution in enumerate(product.contributions):
            contributor = self._contributor(contribution.contributor_id)
            if contributor is None:
                continue
            views.append(
                {
                    "id": product.id * 100 + index,
                    "sequenceNumber": contribution.sequence,
                    "onixContributorRoleCode": contribution.role,
                    "contributor": {
                        "__typename": "Organisation" if contributor.kind == "organisation" else "Person",
                        "id": contributor.id,
                        "name": contributor.name,
                        "contactTags": list(contributor.contact_tags),
                        "biographicalNote": contributor.biographical_note,
                    },
                }
            )
        return views

    def _marketing_text_views(self, product: ProductEntry, variant_in: list[str] | None) -> list[GraphQLView]:
        # The catalogue's description is the product's one SHORT_DESCRIPTION marketing text; the
        # catalogue's marketing texts linked to the product follow (variant-less: internal notes).
        views: list[GraphQLView] = []
        if product.description is not None and (variant_in is None or "SHORT_DESCRIPTION" in variant_in):
            description = product.description
            views.append(
                {
                    "id": product.id,
                    "externalText": lambda info, stripHtml=False: plain_text(description) if stripHtml else description,  # noqa: N803
                    "externalTextMarkdown": description,
                    "internalTextMarkdown": "",
                }
            )
        views += [
            self._note_view(text)
            for text in self._catalogue.marketing_texts
            if product.id in text.product_ids and (variant_in is None or text.variant in variant_in)
        ]
        return views

    @staticmethod
    def _note_view(text: MarketingTextEntry) -> GraphQLView:
        return {
            "id": text.id,
            "externalText": lambda info, stripHtml=False: plain_text(text.external_markdown) if stripHtml else text.external_markdown,  # noqa: N803
            "externalTextMarkdown": text.external_markdown,
            "internalTextMarkdown": text.internal_markdown,
        }

    @staticmethod
    def _web_link_view(link: WebLinkEntry) -> GraphQLView:
        return {"id": link.id, "link": link.link, "role": link.role, "description": link.description}

    @staticmethod
    def _production_file_view(file: ProductionFileEntry) -> GraphQLView:
        return {
            "id": file.id,
            "fileVariant": file.variant,
            "approvalStatus": file.approval_status,
            "allowDistribution": file.allow_distribution,
            "filename": file.filename,
            "url": file.url,
            "fileSize": file.file_size,
            "createdAt": file.created_at,
        }

    def _work_view(self, work: WorkEntry) -> GraphQLView:
        series = self._series(work.series_id) if work.series_id is not None else None
        memberships = (
            [{"id": work.id, "partNumber": work.part_number, "series": {"id": series.id, "name": series.name}}]
            if series is not None
            else []
        )
        return {
            "id": work.id,
            "title": work.title,
            "workType": work.work_type,
            "seriesMemberships": memberships,
            "marketingTexts": lambda info: [self._note_view(t) for t in self._catalogue.marketing_texts if t.work_id == work.id],
            "supportingResources": [
                {
                    "id": r.id,
                    "resourceVariant": r.variant,
                    "url": r.url,
                    "caption": r.caption,
                    "fileSize": r.file_size,
                    "filename": r.filename,
                    "createdAt": r.created_at or self._records_created_at,
                    "status": r.status,
                    "copyright": r.copyright,
                }
                for r in work.supporting_resources
            ],
            "bics": list(work.bics),
            # the work's own list, else its BISAC subject codes, main first
            "bisacs": list(work.bisacs) or [s.code for s in sorted(work.subjects, key=lambda s: not s.main) if s.scheme == "BISAC"] or None,
            "products": lambda info, productSearch=None: [  # noqa: N803 (GraphQL argument name)
                self._product_view(p) for p in self._matching(productSearch or {}) if p.work_id == work.id
            ],
            "contracts": lambda info: [self._contract_view(c) for c in self._contracts_of(work.id)],
            "contributions": lambda info: self._work_contribution_views(work),
            # marketing (campaign milestones)
            "subtitle": work.subtitle,
            "marketingTier": work.marketing_tier,
            "season": work.season,
            "subjectCodes": lambda info, schemesIn=None, mainOnly=None: self._subject_views(work, schemesIn, mainOnly),  # noqa: N803
            "onixContentAudienceCodes": list(work.audience_codes),
        }

    def _work_contribution_views(self, work: WorkEntry) -> list[GraphQLView]:
        """A work's contributions: those of its products, each contributor and role once (Consonance
        keeps contributions on the work and lists the products they apply to)."""
        views: dict[tuple[int, str], GraphQLView] = {}
        for product in sorted((p for p in self._catalogue.products if p.work_id == work.id), key=lambda p: p.id):
            for view in self._contribution_views(product):
                views.setdefault((view["contributor"]["id"], view["onixContributorRoleCode"]), view)
        return list(views.values())

    def _subject_views(self, work: WorkEntry, schemes: list[str] | None, main_only: bool | None) -> list[GraphQLView]:
        return [
            {
                "__typename": {"THEMA": "Thema", "BISAC": "BISAC", "BIC": "BIC"}[subject.scheme],
                "code": subject.code,
                "description": subject.description,
                "main": subject.main,
                **({"parentCode": None} if subject.scheme == "THEMA" else {}),
            }
            for subject in work.subjects
            if (schemes is None or subject.scheme in schemes) and (not main_only or subject.main)
        ]

    def _contract_view(self, contract: ContractEntry) -> GraphQLView:
        first_work = self._work(contract.work_ids[0]) if contract.work_ids else None
        return {
            "id": contract.id,
            "contractName": contract.name,
            "signedDate": contract.signed_date,
            "terminatedDate": contract.terminated_date,
            "licensedRights": [{"id": r.id, "rightType": r.right_type, "authorCut": r.author_cut} for r in contract.licensed_rights],
            "client": {"name": contract.client} if contract.client is not None else None,
            "terminationReason": contract.termination_reason,
            "approvalStatus": contract.approval_status,
            # A contract covering several works (a narrator agreement for a serial) names the first.
            "work": (lambda info: self._work_view(first_work)) if first_work is not None else None,
        }

    # ---------------------------------------------------------------------------------- mutations
    def _require_write_access(self, key: ApiKey, mutation: str) -> None:
        if key.access != "read_write":
            raise GraphQLError(f"Not authorized to run {mutation} with a read-only API key", extensions={"code": "UNAUTHORIZED"})

    def _create_web_link(self, key: ApiKey, data: dict[str, Any]) -> GraphQLView:
        self._require_write_access(key, "createWebLink")
        product = self._product(data["productId"])
        errors = self._link_errors(data)
        if product is None:
            errors.insert(0, {"field": "productId", "messages": ["not found"]})
        if errors or product is None:
            return {"clientMutationId": data.get("clientMutationId"), "errors": errors, "webLink": None}
        link = WebLinkEntry(id=self._next_link_id, link=data["link"], role=data["role"], description=data.get("description"))
        self._next_link_id += 1
        product.web_links.append(link)
        self._record_write_back("createWebLink", product, link)
        return {"clientMutationId": data.get("clientMutationId"), "errors": [], "webLink": self._web_link_view(link)}

    def _update_web_link(self, key: ApiKey, data: dict[str, Any]) -> GraphQLView:
        self._require_write_access(key, "updateWebLink")
        owner = next((p for p in self._catalogue.products for link in p.web_links if link.id == data["id"]), None)
        errors = self._link_errors(data)
        if owner is None:
            errors.insert(0, {"field": "id", "messages": ["web link not found"]})
        if errors or owner is None:
            return {"clientMutationId": data.get("clientMutationId"), "errors": errors, "webLink": None}
        link = next(link for link in owner.web_links if link.id == data["id"])
        for field in ("link", "role", "description"):
            if data.get(field) is not None:
                setattr(link, field, data[field])
        self._record_write_back("updateWebLink", owner, link)
        return {"clientMutationId": data.get("clientMutationId"), "errors": [], "webLink": self._web_link_view(link)}

    def _create_marketing_text(self, key: ApiKey, data: dict[str, Any]) -> GraphQLView:
        self._require_write_access(key, "createMarketingText")
        work_id, product_ids = data.get("workId"), list(data.get("productIds") or [])
        errors: list[dict[str, Any]] = []
        if work_id is not None and self._work(work_id) is None:
            errors.append({"field": "workId", "messages": ["not found"]})
        if missing := [pid for pid in product_ids if self._product(pid) is None]:
            errors.append({"field": "productIds", "messages": [f"not found: {missing}"]})
        if work_id is None and not product_ids:
            errors.append({"field": "workId", "messages": ["a marketing text needs a work or products"]})
        if not (data.get("externalTextMarkdown") or "").strip():
            errors.append({"field": "externalTextMarkdown", "messages": ["can't be blank"]})
        if errors:
            return {"clientMutationId": data.get("clientMutationId"), "errors": errors, "marketingText": None}
        text = MarketingTextEntry(
            id=self._next_text_id,
            work_id=work_id,
            product_ids=product_ids,
            external_markdown=data["externalTextMarkdown"],
            internal_markdown=data.get("internalTextMarkdown") or "",
            variant=data.get("variant"),
        )
        self._next_text_id += 1
        self._catalogue.marketing_texts.append(text)
        self._record_note("createMarketingText", text)
        return {"clientMutationId": data.get("clientMutationId"), "errors": [], "marketingText": self._note_view(text)}

    def _update_marketing_text(self, key: ApiKey, data: dict[str, Any]) -> GraphQLView:
        self._require_write_access(key, "updateMarketingText")
        text = next((t for t in self._catalogue.marketing_texts if t.id == data["id"]), None)
        if text is None:
            return {"clientMutationId": data.get("clientMutationId"), "errors": [{"field": "id", "messages": ["marketing text not found"]}], "marketingText": None}
        if data.get("externalTextMarkdown") is not None:
            text.external_markdown = data["externalTextMarkdown"]
        if data.get("internalTextMarkdown") is not None:
            text.internal_markdown = data["internalTextMarkdown"]
        self._record_note("updateMarketingText", text)
        return {"clientMutationId": data.get("clientMutationId"), "errors": [], "marketingText": self._note_view(text)}

    def _record_note(self, operation: str, text: MarketingTextEntry) -> None:
        now = self.clock.now()
        for product_id in text.product_ids:
            product = self._product(product_id)
            if product is not None:
                product.changed_on = now.date()
        self.notes_written.append(
            NoteWritten(now, operation, text.id, text.work_id, tuple(text.product_ids), text.internal_markdown)
        )

    @staticmethod
    def _link_errors(data: dict[str, Any]) -> list[dict[str, Any]]:
        errors: list[dict[str, Any]] = []
        link = data.get("link")
        if link is not None:
            parts = urlsplit(link)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                errors.append({"field": "link", "messages": ["is not a valid URL"]})
        description = data.get("description")
        if description is not None and len(description) > MAX_DESCRIPTION_LENGTH:
            errors.append({"field": "description", "messages": [f"is too long (maximum is {MAX_DESCRIPTION_LENGTH} characters)"]})
        return errors

    def _record_write_back(self, operation: str, product: ProductEntry, link: WebLinkEntry) -> None:
        now = self.clock.now()
        product.changed_on = now.date()
        self.write_backs.append(
            WriteBack(at=now, operation=operation, product_id=product.id, link_id=link.id, link=link.link, description=link.description)
        )

    # ---------------------------------------------------------------------------------- timeline
    def apply_due_changes(self, now: datetime) -> list[AppliedEdit]:
        """Apply every scripted timeline edit due at or before `now`, in order; returns what was applied."""
        applied: list[AppliedEdit] = []
        while self._pending_edits and self._catalogue.due_at(self._pending_edits[0]) <= now:
            edit = self._pending_edits.pop(0)
            self._apply(edit, self._catalogue.due_at(edit).date())
            self._forget()
            applied.append(AppliedEdit(at=now, edit=edit))
        self.applied_edits += applied
        return applied

    def _apply(self, edit: TimelineEdit, on: date) -> None:
        if edit.action == "add":
            self._add(edit, on)
            return
        target, owner = self._find(edit)
        updated = type(target).model_validate({**target.model_dump(), **edit.changes})
        for field in edit.changes:
            setattr(target, field, getattr(updated, field))
        stamped = owner if owner is not None else target
        stamped.changed_on = on

    def _find(self, edit: TimelineEdit) -> tuple[Any, ProductEntry | None]:
        """The record an update targets, and the product that owns it (production files live on products)."""
        finders: dict[str, Callable[[int], Any]] = {
            "product": self._product,
            "work": self._work,
            "series": self._series,
            "contributor": self._contributor,
            "contract": lambda i: next((c for c in self._catalogue.contracts if c.id == i), None),
        }
        assert edit.id is not None
        if edit.entity == "production_file":
            for product in self._catalogue.products:
                for file in product.production_files:
                    if file.id == edit.id:
                        return file, product
            raise LookupError(f"timeline: no production file {edit.id}")
        target = finders[edit.entity](edit.id)
        if target is None:
            raise LookupError(f"timeline: no {edit.entity} {edit.id}")
        return target, None

    def _add(self, edit: TimelineEdit, on: date) -> None:
        record = {**(edit.record or {}), "changed_on": on.isoformat()}
        collections: dict[str, tuple[list[Any], type[Any]]] = {
            "product": (self._catalogue.products, ProductEntry),
            "work": (self._catalogue.works, WorkEntry),
            "contract": (self._catalogue.contracts, ContractEntry),
            "contributor": (self._catalogue.contributors, ContributorEntry),
            "series": (self._catalogue.series, SeriesEntry),
        }
        collection, model = collections[edit.entity]
        entry = model.model_validate(record)
        if any(existing.id == entry.id for existing in collection):
            raise ValueError(f"timeline: {edit.entity} {entry.id} already exists")
        collection.append(entry)

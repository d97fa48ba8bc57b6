"""An OpenAPI 3.0 document as a contract that httpx exchanges are held to, with openapi-core.

A simulator asks three things of it: which operation a request is (or that the path or the method is not
in the contract), the request's parameters and body once they validate (or what is wrong with them), and
whether its own response is one the contract allows. A response that is not is the simulator's bug, so
`check_response` raises `ContractViolation`, which nothing catches by accident: tests and sandbox runs
stop instead of passing on an answer the real API could never give.

Responses with a status the operation does not declare (401, 403, 404, 405, 409, 429 and 503 are declared
by few operations of Spotify's document) are held against a named fallback schema, the API's error body.

Speed: openapi-core resolves `$ref`s lazily on every validation, which made one request or response of
the Ads API cost 3-12 ms. The contract therefore validates against a copy of the document with every
local reference inlined (same schemas, no look-ups), validates without unmarshalling (query values are
cast here from their declared types, JSON and multipart bodies parsed here), and is built once per
process and path (`load_contract`).
"""

from __future__ import annotations

import copy
import dataclasses
import email.policy
import functools
import json
import time
from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import jsonschema
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.security.exceptions import SecurityProviderError
from openapi_core.security.factories import SecurityProviderFactory
from openapi_core.security.providers import BaseProvider, HttpProvider
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound, ServerNotFound
from openapi_core.templating.paths.finders import APICallPathFinder
from openapi_core.validation.schemas import oas30_read_schema_validators_factory
from openapi_core.validation.schemas.exceptions import InvalidSchemaValue
from werkzeug.datastructures import Headers, ImmutableMultiDict


class ContractViolation(BaseException):
    """A simulator answered something its contract does not allow: a bug in the simulator, never a
    condition a client should handle. A BaseException (like the sandbox's SimulatedCrash) so that no
    `except Exception` in a connector, flow or handler can turn it into a handled failure: it stops the
    test or the sandbox run."""


class UnknownPath(LookupError):
    """No path of the contract matches the request URL."""


class MethodNotAllowed(LookupError):
    """The path exists, but not with this method."""


@dataclass(frozen=True)
class MatchedOperation:
    operation_id: str
    template: str
    path_params: Mapping[str, str]
    declared_statuses: frozenset[str]
    query_types: Mapping[str, str]  # name → array | integer | number | boolean | date-time | string
    body_properties: frozenset[str]

    @property
    def query_parameters(self) -> frozenset[str]:
        return frozenset(self.query_types)


@dataclass
class CheckedRequest:
    """A request's query parameters (cast to their declared types) and body (parsed JSON, or the
    multipart fields) once openapi-core found them valid (`problems` empty), or the problems found."""

    query: dict[str, Any]
    body: Any
    problems: list[str]


@dataclass
class ContractTimings:
    """How often and how long validation ran, for the benchmark (never part of a sandbox report)."""

    requests: int = 0
    responses: int = 0
    seconds: float = 0.0
    by_kind: dict[str, float] = field(default_factory=dict)

    def add(self, kind: str, seconds: float) -> None:
        self.seconds += seconds
        self.by_kind[kind] = self.by_kind.get(kind, 0.0) + seconds


class _BearerProvider(BaseProvider):
    """OAuth2 access tokens travel as `Authorization: Bearer <token>`; openapi-core only warns on oauth2
    schemes, so the contract checks the header's form the way it does for http/bearer."""

    def __call__(self, parameters: RequestParameters) -> Any:
        header = parameters.header.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise SecurityProviderError("Missing bearer token.")
        return token.strip()


class _SecuritySchemes(SecurityProviderFactory):
    PROVIDERS = {**SecurityProviderFactory.PROVIDERS, "oauth2": _BearerProvider, "http": HttpProvider}  # noqa: RUF012 - the base class declares it so


class HttpxOpenAPIRequest:
    """An httpx request in the shape openapi-core reads (its `Request` protocol)."""

    def __init__(self, request: httpx.Request):
        self.host_url = f"{request.url.scheme}://{request.url.netloc.decode()}"
        self.path = request.url.path
        self.method = request.method.lower()
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qsl(request.url.query.decode(), keep_blank_values=True)),
            header=Headers(list(request.headers.items())),
            cookie=ImmutableMultiDict(),
        )
        self.content_type = request.headers.get("content-type", "")
        self.body = request.content or None


class HttpxOpenAPIResponse:
    """An httpx response in the shape openapi-core reads (its `Response` protocol)."""

    def __init__(self, response: httpx.Response):
        self.status_code = response.status_code
        self.headers = Headers(list(response.headers.items()))
        self.content_type = response.headers.get("content-type", "")
        self.data = response.content


class OpenApiContract:
    def __init__(self, document: Mapping[str, Any], *, undeclared_status_schema: str):
        self.document = document
        self.api = OpenAPI.from_dict(
            _inlined(_without_parameter_defaults(document)),
            # Spotify's document has examples that break its own enums, so the document itself is not
            # validated; requests and responses still are, schema by schema.
            config=Config(spec_validator_cls=None, security_provider_factory=_SecuritySchemes()),
        )
        self.server_url = str(document["servers"][0]["url"]).rstrip("/")
        self._finder = APICallPathFinder(self.api.spec)
        self._fallback = oas30_read_schema_validators_factory.create(
            self.api.spec / "components" / "schemas" / undeclared_status_schema
        )
        self.undeclared_status_schema = undeclared_status_schema
        self.timings = ContractTimings()
        self._operations = {(method, template): self._describe(method, template) for method, template, _ in self.operations()}

    # ---------------------------------------------------------------------------------- operations
    def operations(self) -> Iterator[tuple[str, str, str]]:
        """(method, path template, operationId) for every operation in the contract."""
        for template, item in self.document["paths"].items():
            for method, operation in item.items():
                if isinstance(operation, dict) and "operationId" in operation:
                    yield method, template, operation["operationId"]

    def operation(self, request: httpx.Request) -> MatchedOperation:
        try:
            found = self._finder.find(request.method.lower(), str(request.url.copy_with(query=None)))
        except (PathNotFound, ServerNotFound) as missing:
            raise UnknownPath(request.url.path) from missing
        except OperationNotFound as missing:
            raise MethodNotAllowed(f"{request.method} {request.url.path}") from missing
        described = self._operations[(request.method.lower(), found.path.parts[-1])]
        return dataclasses.replace(described, path_params=dict(found.path_result.variables))

    def _describe(self, method: str, template: str) -> MatchedOperation:
        """What the document says about one operation, resolved once: its statuses, the query
        parameters it declares and the properties of its JSON body (through `$ref` and `allOf`)."""
        item = self.document["paths"][template]
        operation = item[method]
        parameters = [self._resolved(p) for p in [*item.get("parameters", []), *operation.get("parameters", [])]]
        body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        return MatchedOperation(
            operation_id=operation["operationId"],
            template=template,
            path_params={},
            declared_statuses=frozenset(str(status) for status in operation.get("responses", {})),
            query_types={p["name"]: self._value_type(p.get("schema", {})) for p in parameters if p.get("in") == "query"},
            body_properties=frozenset(self._properties(body)) if body is not None else frozenset(),
        )

    def _value_type(self, schema: Any) -> str:
        schema = self._resolved(schema)
        for part in schema.get("allOf", []):
            if not schema.get("type"):
                schema = {**self._resolved(part), **{k: v for k, v in schema.items() if k != "allOf"}}
        kind = schema.get("type", "string")
        if kind == "string" and schema.get("format") == "date-time":
            return "date-time"
        return str(kind)

    def _resolved(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            target: Any = self.document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def _properties(self, schema: Any) -> set[str]:
        schema = self._resolved(schema)
        names = set(schema.get("properties", {}))
        for part in schema.get("allOf", []):
            names |= self._properties(part)
        return names

    # ---------------------------------------------------------------------------------- requests
    def check_request(self, request: httpx.Request, operation: MatchedOperation) -> CheckedRequest:
        """Validate `request`. Query parameters the operation does not declare are a problem too:
        openapi-core ignores them, so a mistyped parameter would otherwise pass unseen."""
        started = time.perf_counter()
        try:
            errors = list(self.api.request_validator.iter_errors(HttpxOpenAPIRequest(request)))
        finally:
            self.timings.requests += 1
            self.timings.add("request", time.perf_counter() - started)
        problems = [message for error in errors for message in _messages(error)]
        undeclared = sorted(set(request.url.params.keys()) - operation.query_parameters)
        problems.extend(f"Unknown query parameter: {name}" for name in undeclared)
        if problems:
            return CheckedRequest(query={}, body=None, problems=problems)
        return CheckedRequest(query=_typed_query(request, operation), body=_parsed_body(request), problems=[])

    # ---------------------------------------------------------------------------------- responses
    def check_response(self, request: httpx.Request, response: httpx.Response) -> None:
        """Raise `ContractViolation` unless `response` is one the contract allows for `request`."""
        started = time.perf_counter()
        try:
            self._check_response(request, response)
        finally:
            self.timings.responses += 1
            self.timings.add("response", time.perf_counter() - started)

    def _check_response(self, request: httpx.Request, response: httpx.Response) -> None:
        try:
            matched: MatchedOperation | None = self.operation(request)
        except (UnknownPath, MethodNotAllowed):
            matched = None
        status = str(response.status_code)
        if matched is not None and (status in matched.declared_statuses or "default" in matched.declared_statuses):
            result = self.api.response_validator.iter_errors(HttpxOpenAPIRequest(request), HttpxOpenAPIResponse(response))
            problems = [message for error in result for message in _messages(error)]
            if problems:
                raise ContractViolation(_violation(request, response, problems))
            return
        if not response.headers.get("content-type", "").startswith("application/json"):
            raise ContractViolation(_violation(request, response, ["an undeclared status must carry a JSON error body"]))
        try:
            self._fallback.validate(json.loads(response.content))
        except InvalidSchemaValue as invalid:
            raise ContractViolation(
                _violation(
                    request,
                    response,
                    [f"not a {self.undeclared_status_schema}: {_schema_error(error)}" for error in invalid.schema_errors],
                )
            ) from invalid
        except ValueError as unreadable:
            raise ContractViolation(_violation(request, response, [f"body is not JSON: {unreadable}"])) from unreadable


def _without_parameter_defaults(document: Mapping[str, Any]) -> dict[Hashable, Any]:
    """The document minus the `default` of each parameter's own schema, for validating requests.

    openapi-core fills an absent parameter with its default and then validates that value as if the
    client had sent it. Spotify's document has defaults its own enums reject (the `fields` defaults of
    getAd/getAds/getCampaigns name ASSET_URI, DERIVED_STATUS, ...), which would turn every request
    without `fields` into a 400. A default is not client input, so it is not validated; callers apply
    defaults themselves."""
    copied: dict[Hashable, Any] = {key: copy.deepcopy(value) for key, value in document.items()}
    parameters = list(copied.get("components", {}).get("parameters", {}).values())
    for item in copied.get("paths", {}).values():
        parameters.extend(item.get("parameters", []))
        for operation in item.values():
            if isinstance(operation, dict):
                parameters.extend(operation.get("parameters", []))
    for parameter in parameters:
        schema = parameter.get("schema") if isinstance(parameter, dict) else None
        if isinstance(schema, dict):
            schema.pop("default", None)
    return copied


def _inlined(document: dict[Hashable, Any]) -> dict[Hashable, Any]:
    """`document` with every local `$ref` replaced by its target (shared, not copied), except where a
    reference would recurse into itself, which stays a reference."""
    done: dict[str, Any] = {}

    def walk(node: Any, stack: tuple[str, ...]) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/"):
                if ref in stack:
                    return node
                if ref not in done:
                    target: Any = document
                    for part in ref[2:].split("/"):
                        target = target[part.replace("~1", "/").replace("~0", "~")]
                    done[ref] = walk(target, (*stack, ref))
                return done[ref]
            return {key: walk(value, stack) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item, stack) for item in node]
        return node

    inlined: dict[Hashable, Any] = walk(document, ())
    return inlined


def _typed_query(request: httpx.Request, operation: MatchedOperation) -> dict[str, Any]:
    """The query parameters sent, as their declared types (they have been validated already)."""
    values: dict[str, Any] = {}
    for name, kind in operation.query_types.items():
        sent = request.url.params.get_list(name)
        if not sent:
            continue
        if kind == "array":
            values[name] = sent
        elif kind == "integer":
            values[name] = int(sent[0])
        elif kind == "number":
            values[name] = float(sent[0])
        elif kind == "boolean":
            values[name] = sent[0].lower() == "true"
        elif kind == "date-time":
            values[name] = datetime.fromisoformat(sent[0].replace("Z", "+00:00"))
        else:
            values[name] = sent[0]
    return values


def _parsed_body(request: httpx.Request) -> Any:
    """A JSON body as data; a multipart/form-data body as {field: bytes for files, str otherwise}."""
    content_type = request.headers.get("content-type", "")
    if not request.content:
        return None
    if content_type.startswith("multipart/form-data"):
        message = BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + request.content
        )
        fields: dict[str, Any] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            fields[str(name)] = data if part.get_filename() is not None else data.decode()
        return fields
    return json.loads(request.content)


@functools.cache
def load_contract(path: Path, undeclared_status_schema: str) -> OpenApiContract:
    """One parsed contract per document and process (parsing is the slow part)."""
    with path.open("rb") as handle:
        document = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return OpenApiContract(document, undeclared_status_schema=undeclared_status_schema)


def _messages(error: BaseException) -> list[str]:
    """Readable lines for one openapi-core error: the schema errors behind it, with their JSON paths."""
    cause = error.__cause__
    where = str(error)
    if cause is not None and str(cause) in where:
        where = type(error).__name__  # openapi-core's own text already repeats the cause
    if isinstance(cause, InvalidSchemaValue):
        return [f"{where}: {_schema_error(schema_error)}" for schema_error in cause.schema_errors]
    if cause is not None:
        return [f"{where}: {cause}"]
    return [where]


def _schema_error(error: Exception) -> str:
    """A jsonschema error as `path.to[0].field: message`."""
    if not isinstance(error, jsonschema.ValidationError):
        return str(error)
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path)
    return f"{path.lstrip('.')}: {error.message}" if path else error.message


def _violation(request: httpx.Request, response: httpx.Response, problems: list[str]) -> str:
    body = response.content[:600].decode(errors="replace")
    return (
        f"simulator answered {request.method} {request.url.path} with {response.status_code}, which the contract "
        f"does not allow:\n  - " + "\n  - ".join(problems) + f"\n  body: {body}"
    )

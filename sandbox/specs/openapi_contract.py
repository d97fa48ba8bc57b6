"""An OpenAPI 3.0 document as a contract that httpx exchanges are held to, with openapi-core.

A simulator asks three things of it: which operation a request is (or that the path or the method is not
in the contract), the request's parameters and body once they validate (or what is wrong with them), and
whether its own response is one the contract allows. A response that is not is the simulator's bug, so
`check_response` raises `ContractViolation` (an `AssertionError`): tests fail loudly instead of passing on
an answer the real API could never give.

Responses with a status the operation does not declare (401, 403, 404, 405, 409, 429 and 503 are declared
by few operations of Spotify's document) are held against a named fallback schema, the API's error body.

The parsed document and its validators are cached once per process and path: parsing the Ads API subset
costs ~0.2 s, validating one request or response about a millisecond.
"""

from __future__ import annotations

import copy
import functools
import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import yaml
from jsonschema_path import SchemaPath
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


class ContractViolation(AssertionError):
    """A simulator answered something its contract does not allow: a bug in the simulator, never a
    condition a client should handle."""


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


@dataclass
class CheckedRequest:
    """A request's query parameters and body after openapi-core validated and unmarshalled them
    (`problems` empty), or the problems found."""

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
    PROVIDERS = {**SecurityProviderFactory.PROVIDERS, "oauth2": _BearerProvider, "http": HttpProvider}


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
            _without_parameter_defaults(document),
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
        operation: SchemaPath = found.operation
        with operation.open() as content:
            operation_id = content["operationId"]
            statuses = frozenset(str(status) for status in content.get("responses", {}))
        template = found.path.parts[-1]
        return MatchedOperation(operation_id, template, dict(found.path_result.variables), statuses)

    # ---------------------------------------------------------------------------------- requests
    def check_request(self, request: httpx.Request) -> CheckedRequest:
        started = time.perf_counter()
        try:
            result = self.api.unmarshal_request(HttpxOpenAPIRequest(request))
        finally:
            self.timings.requests += 1
            self.timings.add("request", time.perf_counter() - started)
        problems = [message for error in result.errors for message in _messages(error)]
        return CheckedRequest(query=dict(result.parameters.query), body=result.body, problems=problems)

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
                _violation(request, response, [f"not a {self.undeclared_status_schema}: {error.message}" for error in invalid.schema_errors])
            ) from invalid
        except ValueError as unreadable:
            raise ContractViolation(_violation(request, response, [f"body is not JSON: {unreadable}"])) from unreadable


def _without_parameter_defaults(document: Mapping[str, Any]) -> dict[str, Any]:
    """The document minus the `default` of each parameter's own schema, for validating requests.

    openapi-core fills an absent parameter with its default and then validates that value as if the
    client had sent it. Spotify's document has defaults its own enums reject (the `fields` defaults of
    getAd/getAds/getCampaigns name ASSET_URI, DERIVED_STATUS, ...), which would turn every request
    without `fields` into a 400. A default is not client input, so it is not validated; callers apply
    defaults themselves."""
    copied = copy.deepcopy(dict(document))
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
    if isinstance(cause, InvalidSchemaValue):
        return [f"{where}: {_json_path(schema_error.absolute_path)}{schema_error.message}" for schema_error in cause.schema_errors]
    if cause is not None:
        return [f"{where}: {cause}"]
    return [where]


def _json_path(parts: Any) -> str:
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in parts)
    return f"{path.lstrip('.')}: " if path else ""


def _violation(request: httpx.Request, response: httpx.Response, problems: list[str]) -> str:
    body = response.content[:600].decode(errors="replace")
    return (
        f"simulator answered {request.method} {request.url.path} with {response.status_code}, which the contract "
        f"does not allow:\n  - " + "\n  - ".join(problems) + f"\n  body: {body}"
    )

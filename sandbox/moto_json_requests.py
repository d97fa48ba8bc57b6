"""moto's JSON request parameters, built by converters compiled once per input shape.

moto (5.2.1) turns a JSON-protocol request body into the parameters its handlers read
(`BaseResponse.params`) with `moto.core.parse.JSONParser`: `json.loads`, then a walk of the result
guided by the operation's input shape, which looks each node's handler up by name and asks every
structure for each of its members in turn — every DynamoDB attribute value is a structure of ten
members, one of them present. `json_request_converter(operation_model)` compiles that walk once per
operation into plain functions that do what the parser's handlers do:

- a structure (not a document): None stays None; otherwise a new dict of the members present with a
  value other than None, found by their JSON names, converted, in the shape's member order, under
  their member names (the members the shape does not know are left out);
- a map: a new dict of converted keys to converted values, in the body's order; a list: a new list of
  converted items;
- a blob and a timestamp: the parser's own blob and timestamp functions (base64 decoding, moto's UTC
  timestamps); a float or double: `float`, an integer, byte, short or long: `int`; anything else
  (strings, booleans, documents): the value as it is.

The converted value is therefore the one moto's parser builds, key order included. Where the parser
would hand a value to a handler that is not one of those (another moto version's), the operation has
no converter (None), and where a value is not of the type the shape expects (a list for a
structure) or a conversion raises, `JsonShapeMismatch` (or the conversion's error) is raised: the
caller lets moto's parser answer — and raise — itself.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import Any

from moto.core.parse import BaseJSONParser, JSONParser, RequestParser

Converter = Callable[[Any], Any]


class JsonShapeMismatch(Exception):
    """A value is not of the JSON type its shape's handler in moto's parser expects."""


class UnsupportedShape(Exception):
    """moto's parser would hand a shape to a handler no compiled converter mirrors."""


def _unchanged(value: Any) -> Any:
    return value


def json_request_converter(operation_model: Any) -> Callable[[bytes | str], Any] | None:
    """A function from a request body to what `JSONParser(operation_model).parse` gives for it (see
    the module docstring), or None when the operation's input has a shape no converter mirrors."""
    parser = JSONParser(operation_model, map_type=dict)
    input_shape = operation_model.input_shape
    if input_shape is None:
        return lambda body: {}
    try:
        convert = _ShapeCompiler(parser).compiled(input_shape)
    except UnsupportedShape:
        return None
    load = parser._parse_body_as_json  # noqa: SLF001 - the parser's own body decoding

    def converted(body: bytes | str) -> Any:
        return convert(load(body))

    return converted


class _ShapeCompiler:
    """Converters for one parser's shapes, one per shape name (recursive shapes refer to their own)."""

    def __init__(self, parser: JSONParser):
        self._parser = parser
        self._compiled: dict[tuple[str, str, bool], list[Converter]] = {}

    def compiled(self, shape: Any) -> Converter:
        key = (shape.name, shape.type_name, bool(getattr(shape, "is_document_type", False)))  # structures only
        cell = self._compiled.get(key)
        if cell is None:
            cell = self._compiled[key] = []  # filled below; a recursive reference reads it when called
            cell.append(self._make(shape))
        if cell:
            return cell[0]
        return lambda value: cell[0](value)  # a shape that contains itself, still being compiled

    def _make(self, shape: Any) -> Converter:
        handler = getattr(type(self._parser), f"_parse_{shape.type_name}", None)
        if handler is None:
            return _unchanged  # `_default_handle`
        if handler is BaseJSONParser._parse_structure:  # noqa: SLF001 - the handler being mirrored
            return _unchanged if shape.is_document_type else self._structure(shape)
        if handler is RequestParser._parse_map:  # noqa: SLF001
            return self._map(shape)
        if handler is RequestParser._parse_list:  # noqa: SLF001
            return self._list(shape)
        if handler is BaseJSONParser._parse_blob:  # noqa: SLF001
            return self._parser._blob_parser  # noqa: SLF001
        if handler is BaseJSONParser._parse_timestamp:  # noqa: SLF001
            return self._parser._timestamp_parser  # noqa: SLF001
        if handler is BaseJSONParser._parse_float:  # noqa: SLF001 - also `_parse_double`
            return float
        if handler is BaseJSONParser._parse_integer:  # noqa: SLF001 - also byte, short and long
            return int
        raise UnsupportedShape(f"{shape.name}: {handler.__qualname__}")

    def _structure(self, shape: Any) -> Converter:
        members: dict[str, tuple[int, str, Converter]] = {}
        for index, (member_name, member_shape) in enumerate(shape.members.items()):
            json_name = member_shape.serialization.get("name", member_name)
            if json_name in members:
                raise UnsupportedShape(f"{shape.name}: two members named {json_name!r} in JSON")
            members[json_name] = (index, member_name, self.compiled(member_shape))
        by_index = itemgetter(0)

        def structure(value: Any) -> Any:
            if value is None:
                return None
            if type(value) is not dict:
                raise JsonShapeMismatch(shape.name)
            if len(value) == 1:
                ((json_name, raw),) = value.items()
                member = members.get(json_name)
                if member is None or raw is None:
                    return {}
                return {member[1]: member[2](raw)}
            present = [(*member, raw) for json_name, raw in value.items() if raw is not None and (member := members.get(json_name)) is not None]
            present.sort(key=by_index)
            return {name: convert(raw) for _, name, convert, raw in present}

        return structure

    def _map(self, shape: Any) -> Converter:
        convert_key, convert_value = self.compiled(shape.key), self.compiled(shape.value)

        def mapping(value: Any) -> Any:
            if type(value) is not dict:
                raise JsonShapeMismatch(shape.name)
            if convert_key is _unchanged:
                return {key: convert_value(item) for key, item in value.items()}
            return {convert_key(key): convert_value(item) for key, item in value.items()}

        return mapping

    def _list(self, shape: Any) -> Converter:
        convert_member = self.compiled(shape.member)

        def listing(value: Any) -> Any:
            if type(value) is not list:
                raise JsonShapeMismatch(shape.name)
            return [convert_member(item) for item in value]

        return listing

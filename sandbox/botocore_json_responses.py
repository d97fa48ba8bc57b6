"""botocore's JSON response parser with each output shape's walk compiled once.

The sandbox parses every answer to a JSON-protocol call itself (`sandbox.aws_transport`'s early
route). botocore's `JSONParser` walks the output shape generically for every value: a `getattr` for
the handler of each node, and for each structure a loop over all its members (ten for every DynamoDB
`AttributeValue`) — about a fifth of what a DynamoDB call costs the sandbox's client. Here the walk is
turned into one function per shape the first time the shape is parsed: a structure keeps its members'
wire names and their converters, a list or map its item's converter, and the types botocore converts
(blobs and timestamps, with the parser's own converters) are the only leaves that do anything.
Everything else — error parsing, response metadata, event streams — is botocore's own code, since
only `_handle_json_body`'s walk is replaced.

What botocore does, it still does: members in the shape's order, a member whose value is null left
out, list items that are null kept, map values converted even when null, a structure sent as null
returned as None, a document returned as it came. Tagged unions, which botocore checks for exactly
one member, go to botocore's own walk. `compare` (for tests) receives botocore's walk of the same
body beside the compiled one, for every answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape
from botocore.parsers import JSONParser

Converter = Callable[[Any], Any]
Comparison = Callable[[str, Any, Any], None]  # shape name, botocore's parse, the compiled parse


class CompiledJsonParser(JSONParser):
    """A `botocore.parsers.JSONParser` whose body walk is compiled per output shape."""

    def __init__(self, compare: Comparison | None = None):
        super().__init__()
        self._compare = compare
        # id(shape) -> (the shape, kept so its id stays its own; its converter)
        self._compiled: dict[int, tuple[Shape, Converter]] = {}

    def _handle_json_body(self, raw_body: bytes, shape: Shape) -> Any:
        known = self._compiled.get(id(shape))
        if known is None:
            known = self._compiled.setdefault(id(shape), (shape, self._converter(shape, {})))
        body = self._parse_body_as_json(raw_body)
        parsed = known[1](body)
        if self._compare is not None:  # neither walk changes the body it reads
            self._compare(shape.name, self._parse_shape(shape, body), parsed)
        return parsed

    # compiling ------------------------------------------------------------------------------------
    def _converter(self, shape: Shape, compiling: dict[str, Converter]) -> Converter:
        """The function that parses a value of `shape` as botocore's walk would. `compiling` holds
        the shapes being compiled on the way here, by name, for the shapes that contain themselves."""
        if shape.name in compiling:
            return compiling[shape.name]
        if isinstance(shape, StructureShape):
            if shape.is_document_type:
                return _unchanged
            if shape.is_tagged_union:
                return lambda value: self._parse_shape(shape, value)
            return self._structure(shape, compiling)
        if isinstance(shape, ListShape):
            return self._list(shape, compiling)
        if isinstance(shape, MapShape):
            return self._map(shape, compiling)
        if shape.type_name == "blob":
            return self._blob_parser
        if shape.type_name == "timestamp":
            return self._timestamp_parser
        return _unchanged

    @staticmethod
    def _late_bound(shape: Shape, compiling: dict[str, Converter]) -> list[Converter]:
        """Makes `shape`'s converter, until `_compiled_as` replaces it, one that calls what the
        returned cell will hold: members that contain `shape` again refer to it before it is compiled."""
        cell: list[Converter] = []
        compiling[shape.name] = lambda value: cell[0](value)
        return cell

    @staticmethod
    def _compiled_as(shape: Shape, compiling: dict[str, Converter], cell: list[Converter], converter: Converter) -> Converter:
        cell.append(converter)
        compiling[shape.name] = converter
        return converter

    def _structure(self, shape: StructureShape, compiling: dict[str, Converter]) -> Converter:
        cell = self._late_bound(shape, compiling)
        members = [(name, member.serialization.get("name", name), self._converter(member, compiling)) for name, member in shape.members.items()]
        by_wire_name = {wire: (name, convert) for name, wire, convert in members}

        def structure(value: Any) -> Any:
            if value is None:
                return None
            if len(value) == 1:  # one key (an AttributeValue's type): the one member it can be
                ((wire, raw),) = value.items()
                member = by_wire_name.get(wire)
                return {} if member is None or raw is None else {member[0]: member[1](raw)}
            parsed = {}
            for name, wire, convert in members:
                raw = value.get(wire)
                if raw is not None:
                    parsed[name] = convert(raw)
            return parsed

        return self._compiled_as(shape, compiling, cell, structure)

    def _list(self, shape: ListShape, compiling: dict[str, Converter]) -> Converter:
        cell = self._late_bound(shape, compiling)
        convert = self._converter(shape.member, compiling)

        def items(node: Any) -> list[Any]:
            return [None if item is None else convert(item) for item in node]

        return self._compiled_as(shape, compiling, cell, items)

    def _map(self, shape: MapShape, compiling: dict[str, Converter]) -> Converter:
        cell = self._late_bound(shape, compiling)
        convert_key, convert_value = self._converter(shape.key, compiling), self._converter(shape.value, compiling)

        def entries(value: Any) -> dict[Any, Any]:
            return {convert_key(key): convert_value(item) for key, item in value.items()}

        return self._compiled_as(shape, compiling, cell, entries)


def _unchanged(value: Any) -> Any:
    return value

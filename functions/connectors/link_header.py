"""RFC 8288 `Link` header parsing (Megaphone pages with `Link: <...>; rel="next"`)."""

from __future__ import annotations

import re

_LINK = re.compile(r'<(?P<url>[^>]*)>(?P<params>(?:\s*;\s*[^;,=\s]+(?:\s*=\s*(?:"(?:[^"\\]|\\.)*"|[^;,"]*))?)*)')
_LINK_PARAM = re.compile(r';\s*(?P<name>[^;,=\s]+)(?:\s*=\s*(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<token>[^;,"]*)))?')


def parse_link_header(value: str) -> list[tuple[str, dict[str, str]]]:
    """`Link` values as (url, params): parameter names lower-cased, quoted values unquoted (commas and
    semicolons inside quotes kept). httpx's `response.links` keys by the literal rel and is
    case-sensitive on `rel`, so `rel="next last"` or `REL=next` would be missed."""
    links: list[tuple[str, dict[str, str]]] = []
    for match in _LINK.finditer(value):
        params: dict[str, str] = {}
        for param in _LINK_PARAM.finditer(match.group("params")):
            quoted = param.group("quoted")
            raw = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else (param.group("token") or "").strip()
            params.setdefault(param.group("name").lower(), raw)
        links.append((match.group("url").strip(), params))
    return links

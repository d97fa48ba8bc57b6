"""Per-product data-quality rules the mapping applies before anything reaches Spotify.

Each rule returns `Finding`s (entity `episode#<product id>`, flow `consonance-poller`). Blocking findings
hold the episode back until someone fixes Consonance; non-blocking ones are reported and the record
goes on (with the offending part cleaned or dropped). The codes:

| code | blocking | rule |
| --- | --- | --- |
| missing_id | yes | the record has no product id |
| missing_work | yes | the product belongs to no work |
| missing_title | yes | neither `title` nor `fullTitle` has text |
| title_too_long | yes | the title is longer than `MappingConfig.max_title_length` |
| missing_series | yes | podcast content (a known work type) that is in no series: it has no show |
| missing_part_number | yes | in a series but without a part number: no episode number |
| invalid_part_number | yes | the part number is not a whole number ("7a", "two") |
| invalid_isbn | yes | an ISBN-13 is present but malformed or its check digit is wrong |
| unknown_territory_code | no (included) / yes (excluded) | a sales territory that is not a country code: dropped. Dropping it from the *for-sale* list only narrows where the episode goes; dropping it from the *not-for-sale* list could put it live where it must not be, so that case blocks |
| unsafe_description | no | the description carried script/style/iframe/object/embed, event-handler attributes or `javascript:` URLs; they were removed |
| summary_truncated | no | the cleaned description was longer than `MappingConfig.max_summary_length`; plain text, cut at a word |
| unnamed_contributor | no | a credited contribution whose contributor has no name: left out of the credits |
| master_audio_without_url | no | the master audio production file has no URL: nothing for Megaphone to fetch |

Territory codes: ONIX country codes are ISO 3166-1 alpha-2 (codelist 91), checked against
`functions.domain.territories.KNOWN_TERRITORIES` (the one list the project keeps). ONIX 3 region
codes also allow `WORLD`; in a for-sale list it is read as "worldwide" (same as `isForSaleWorldwide`);
in a not-for-sale list it means nowhere, which is reported as an unknown (blocking) code rather than
guessed at. Other region codes (`ECZ`, `GB-ENG`, ...) are not countries Spotify can target: unknown.

Descriptions: Megaphone/Spotify show a small HTML subset, so the sanitiser keeps exactly
`p br b strong i em ul ol li a` (and on `a` only an `href` with http, https or mailto), drops every
other tag but keeps its text, drops script/style/iframe/object/embed/noscript/template together with
their content, and drops every other attribute (so every `on*=` handler). Text is re-escaped.
"""

from __future__ import annotations

from functions.flow_names import FlowName
from functions.state.keys import episode_key

import html
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

from functions.domain.models import Finding
from functions.domain.territories import KNOWN_TERRITORIES

WORLD_CODES: frozenset[str] = frozenset({"WORLD"})
SAFE_TAGS: frozenset[str] = frozenset({"p", "br", "b", "strong", "i", "em", "ul", "ol", "li", "a"})
VOID_TAGS: frozenset[str] = frozenset({"br"})
DROPPED_WITH_CONTENT: frozenset[str] = frozenset({"script", "style", "iframe", "object", "embed", "noscript", "template"})
SAFE_URL_SCHEMES: frozenset[str] = frozenset({"http", "https", "mailto"})


def product_entity(product_id: int | None) -> str:
    return str(episode_key(product_id)) if product_id is not None else "episode#unknown"


def finding(code: str, product_id: int | None, message: str, *, blocking: bool = True) -> Finding:
    return Finding(code=code, entity=product_entity(product_id), message=message, flow=FlowName.CONSONANCE_POLLER, blocking=blocking)


# ------------------------------------------------------------------------------------------ ISBN
def normalise_isbn13(value: str) -> str:
    """The ISBN without the hyphens and spaces people type into it."""
    return re.sub(r"[\s-]", "", value)


def is_valid_isbn13(value: str) -> bool:
    """13 digits, a 978/979 prefix, and the EAN-13 check digit (weights 1,3,1,3...)."""
    digits = normalise_isbn13(value)
    if len(digits) != 13 or not digits.isdigit() or digits[:3] not in ("978", "979"):
        return False
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits[:12]))
    return (10 - total % 10) % 10 == int(digits[12])


def isbn_findings(isbn13: str | None, product_id: int | None) -> list[Finding]:
    if isbn13 is None or not isbn13.strip() or is_valid_isbn13(isbn13):
        return []
    return [finding("invalid_isbn", product_id, f"ISBN-13 '{isbn13}' is not valid (format or check digit)")]


# ------------------------------------------------------------------------------------------ territories
class TerritoryCodes(BaseModel):
    """A Consonance country-code list split into what Spotify can use and what it cannot."""

    model_config = ConfigDict(frozen=True)

    countries: tuple[str, ...] = ()
    world: bool = False
    unknown: tuple[str, ...] = ()


def classify_territory_codes(codes: tuple[str, ...] | list[str]) -> TerritoryCodes:
    """Upper-cased, de-duplicated, sorted country codes; `WORLD` and unknown codes set apart."""
    countries: set[str] = set()
    unknown: list[str] = []
    world = False
    for raw in codes:
        code = raw.strip().upper()
        if code in KNOWN_TERRITORIES:
            countries.add(code)
        elif code in WORLD_CODES:
            world = True
        elif raw not in unknown:
            unknown.append(raw)
    return TerritoryCodes(countries=tuple(sorted(countries)), world=world, unknown=tuple(unknown))


def territory_findings(included: TerritoryCodes, excluded: TerritoryCodes, product_id: int | None) -> list[Finding]:
    found: list[Finding] = []
    if included.unknown:
        found.append(
            finding(
                "unknown_territory_code",
                product_id,
                f"for-sale territory codes {', '.join(included.unknown)} are not ISO 3166-1 alpha-2; left out",
                blocking=False,
            )
        )
    not_countries = excluded.unknown + (("WORLD",) if excluded.world else ())
    if not_countries:
        found.append(
            finding(
                "unknown_territory_code",
                product_id,
                f"not-for-sale territory codes {', '.join(not_countries)} are not ISO 3166-1 alpha-2; "
                "cannot tell where the episode must be withheld",
            )
        )
    return found


# ------------------------------------------------------------------------------------------ descriptions
class SanitisedDescription(BaseModel):
    model_config = ConfigDict(frozen=True)

    html: str
    removed: tuple[str, ...] = ()  # what unsafe markup was taken out (for the finding's message)


class _DescriptionCleaner(HTMLParser):
    """Rebuilds markup from the safe subset; remembers what unsafe markup it dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.open_tags: list[str] = []
        self.dropping: list[str] = []
        self.removed: list[str] = []

    def _note(self, what: str) -> None:
        if what not in self.removed:
            self.removed.append(what)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name.lower().startswith("on"):
                self._note(f"{name.lower()} attribute")
            if value and _is_script_url(value):
                self._note("javascript: URL")
        if tag in DROPPED_WITH_CONTENT:
            self._note(f"<{tag}>")
            if tag not in VOID_TAGS:
                self.dropping.append(tag)
            return
        if self.dropping or tag not in SAFE_TAGS:
            return
        if tag == "a":
            href = next((v for n, v in attrs if n.lower() == "href" and v), None)
            safe_href = href if href is not None and _is_safe_url(href) else None
            self.parts.append(f'<a href="{html.escape(safe_href)}">' if safe_href else "<a>")
        else:
            self.parts.append(f"<{tag}>")
        if tag not in VOID_TAGS:
            self.open_tags.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID_TAGS or tag in DROPPED_WITH_CONTENT:
            self.handle_starttag(tag, attrs)
            if tag in DROPPED_WITH_CONTENT and self.dropping and self.dropping[-1] == tag:
                self.dropping.pop()
            return
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.dropping:
            if tag == self.dropping[-1]:
                self.dropping.pop()
            return
        if tag in self.open_tags:
            while self.open_tags:
                closing = self.open_tags.pop()
                self.parts.append(f"</{closing}>")
                if closing == tag:
                    break

    def handle_data(self, data: str) -> None:
        if not self.dropping:
            self.parts.append(html.escape(data, quote=False))

    def result(self) -> str:
        self.close()
        self.parts.extend(f"</{tag}>" for tag in reversed(self.open_tags))
        self.open_tags.clear()
        return "".join(self.parts).strip()


def _is_script_url(value: str) -> bool:
    compact = re.sub(r"[\s\x00-\x1f]", "", html.unescape(value)).lower()
    return compact.startswith(("javascript:", "vbscript:", "data:text/html"))


def _is_safe_url(value: str) -> bool:
    if _is_script_url(value):
        return False
    return urlsplit(value.strip()).scheme.lower() in SAFE_URL_SCHEMES


def sanitise_description(raw: str) -> SanitisedDescription:
    """The description reduced to the safe HTML subset (see the module docstring)."""
    cleaner = _DescriptionCleaner()
    cleaner.feed(raw)
    return SanitisedDescription(html=cleaner.result(), removed=tuple(cleaner.removed))


def plain_text(markup: str) -> str:
    """Markup without tags, entities decoded, whitespace collapsed."""

    class _TextOnly(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.chunks: list[str] = []

        def handle_data(self, data: str) -> None:
            self.chunks.append(data)

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag in ("p", "br", "li"):
                self.chunks.append(" ")

    parser = _TextOnly()
    parser.feed(markup)
    parser.close()
    return re.sub(r"\s+", " ", "".join(parser.chunks)).strip()


def truncate_at_word(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - 1)]
    if " " in cut:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,.;:") + "…"


def summary_with_findings(raw: str, max_length: int, product_id: int | None) -> tuple[str, list[Finding]]:
    """The episode summary from a Consonance description, and what had to be done to it."""
    found: list[Finding] = []
    cleaned = sanitise_description(raw)
    if cleaned.removed:
        found.append(
            finding(
                "unsafe_description",
                product_id,
                f"description contained {', '.join(cleaned.removed)}; removed before publishing",
                blocking=False,
            )
        )
    summary = cleaned.html
    if len(summary) > max_length:
        summary = truncate_at_word(plain_text(summary), max_length)
        found.append(
            finding(
                "summary_truncated",
                product_id,
                f"description is longer than {max_length} characters; published as shortened plain text",
                blocking=False,
            )
        )
    return summary, found


# ------------------------------------------------------------------------------------------ titles and required fields
def title_findings(title: str, product_id: int | None, max_length: int) -> list[Finding]:
    if not title.strip():
        return [finding("missing_title", product_id, "the product has no title")]
    if len(title) > max_length:
        return [finding("title_too_long", product_id, f"title is {len(title)} characters; the limit is {max_length}")]
    return []


def parse_part_number(raw: str | None) -> int | None:
    """A series part number as an episode number: whole numbers only ("07" is 7)."""
    if raw is None or not raw.strip().isdigit():
        return None
    return int(raw.strip())


def part_number_findings(raw: str | None, product_id: int | None) -> list[Finding]:
    if raw is None or not raw.strip():
        return [finding("missing_part_number", product_id, "the series membership has no part number (episode number)")]
    if parse_part_number(raw) is None:
        return [finding("invalid_part_number", product_id, f"part number '{raw}' is not a whole number")]
    return []

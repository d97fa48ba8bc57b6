"""Clearance: the territories and dates in which content may be live. Pure functions, no I/O.

For one episode, clearance is — per territory in which the product is for sale — the half-open date
windows `[starts_on, ends_on)` in which every right its kind requires (see `RightsPolicy`) holds:

    cleared(t, d)  ⇔  t ∈ for_sale  ∧  ∀ r ∈ required(kind): ∃ grant g of type r with t ∈ g.territories ∧ d ∈ g.window

- for_sale: the universe minus `excluded` when the product is for sale worldwide, otherwise `included`
  minus `excluded` (if a code is in both, exclusion wins here and `rights_findings` holds the content);
- a grant's territories default to the product's; its own `Territories` narrow that right;
- a grant whose window ends before it starts, or whose type is unknown, grants nothing (and is a
  blocking finding), so a contradiction can never widen clearance.

`rights_findings` lists what a person must fix before the content can go out at all; `assess_rights`
bundles both, so a gate cannot look at one without the other.
"""

from __future__ import annotations

from functions.flow_names import FlowName
from functions.state.keys import episode_key

from collections.abc import Iterable, Sequence
from datetime import date
from itertools import pairwise

from pydantic import BaseModel, ConfigDict, Field, model_validator

from functions.domain.models import Episode, Finding, RightGrant, Territories
from functions.domain.rights import RightsPolicy
from functions.domain.territories import KNOWN_TERRITORIES


# Windows are computed on day ordinals; an open side is one step beyond every real date, so that a
# real `date.min` / `date.max` stays distinguishable from "open".
_OPEN_START = date.min.toordinal() - 1
_OPEN_END = date.max.toordinal() + 1

Span = tuple[int, int]  # [start, end) as ordinals


class DateWindow(BaseModel):
    """[starts_on, ends_on): `None` leaves a side open. Non-empty by construction."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    starts_on: date | None = None
    ends_on: date | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> "DateWindow":
        if self.starts_on is not None and self.ends_on is not None and self.ends_on <= self.starts_on:
            raise ValueError(f"window [{self.starts_on}, {self.ends_on}) is empty")
        return self

    def contains(self, day: date) -> bool:
        return (self.starts_on is None or self.starts_on <= day) and (self.ends_on is None or day < self.ends_on)


class Clearance(BaseModel):
    """Where and when content may be live: per territory, sorted, disjoint, non-touching windows.

    Territories without any window are absent, so `windows` lists exactly the places content may ever be
    live. Queries are by calendar day (UTC, as the flows' clock gives it).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    windows: dict[str, tuple[DateWindow, ...]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _normalised(self) -> "Clearance":
        for territory, windows in self.windows.items():
            if not windows:
                raise ValueError(f"{territory} is listed without a window")
            spans = [_span(w) for w in windows]
            if any(b[0] <= a[1] for a, b in pairwise(spans)):
                raise ValueError(f"windows of {territory} overlap, touch or are out of order")
        return self

    @property
    def is_empty(self) -> bool:
        return not self.windows

    @property
    def territories(self) -> frozenset[str]:
        """Every territory where the content is cleared at some time."""
        return frozenset(self.windows)

    def allows(self, territory: str, on: date) -> bool:
        return any(window.contains(on) for window in self.windows.get(territory, ()))

    def territories_on(self, day: date) -> set[str]:
        return {territory for territory, windows in self.windows.items() if any(w.contains(day) for w in windows)}

    def next_change_after(self, day: date) -> date | None:
        """The first day after `day` on which `territories_on` differs from the day before, if any.

        Windows are merged, so every finite boundary is such a day: the scheduled sweep re-evaluates the
        episode then (publish where a window opens, withdraw where one closes).
        """
        boundaries = (
            boundary
            for windows in self.windows.values()
            for window in windows
            for boundary in (window.starts_on, window.ends_on)
            if boundary is not None and boundary > day
        )
        return min(boundaries, default=None)


# ----------------------------------------------------------------------------------------- clearance
def sales_territories(territories: Territories, universe: Iterable[str] = KNOWN_TERRITORIES) -> frozenset[str]:
    """Where a product (or a grant) is for sale: worldwide or the included list, minus the excluded."""
    everywhere = frozenset(universe)
    base = everywhere if territories.worldwide else everywhere & frozenset(territories.included)
    return base - frozenset(territories.excluded)


def compute_clearance(
    episode: Episode, policy: RightsPolicy, universe: Iterable[str] = KNOWN_TERRITORIES
) -> Clearance:
    universe = frozenset(universe)
    for_sale = sales_territories(episode.territories, universe)
    required = policy.required_for(episode.kind)
    grants_by_type: dict[str, list[RightGrant]] = {right: [] for right in required}
    for grant in episode.rights:
        canonical = policy.canonical_right_type(grant.right_type)
        if canonical in grants_by_type:
            grants_by_type[canonical].append(grant)

    # Territory sets and windows of each grant, computed once rather than once per territory.
    prepared = {
        right: [
            (for_sale if g.territories is None else sales_territories(g.territories, universe), _grant_span(g))
            for g in grants
        ]
        for right, grants in grants_by_type.items()
    }
    # Territories covered by the same grants have the same windows: computed once per such group
    # (a worldwide catalogue has ~250 territories and usually one or two groups).
    windows: dict[str, tuple[DateWindow, ...]] = {}
    by_grants: dict[tuple[tuple[int, ...], ...], tuple[DateWindow, ...]] = {}
    for territory in sorted(for_sale):
        covering = tuple(
            tuple(i for i, (places, span) in enumerate(prepared[right]) if span is not None and territory in places) for right in required
        )
        if covering not in by_grants:
            by_grants[covering] = _windows_of(covering, required, prepared)
        if by_grants[covering]:
            windows[territory] = by_grants[covering]
    return Clearance(windows=windows)


def _windows_of(
    covering: tuple[tuple[int, ...], ...], required: Sequence[str], prepared: dict[str, list[tuple[frozenset[str], Span | None]]]
) -> tuple[DateWindow, ...]:
    """The windows where every required right is held, given which grants of each right apply."""
    spans: list[Span] = [(_OPEN_START, _OPEN_END)]
    for right, indexes in zip(required, covering, strict=True):
        held = _union(span for i in indexes if (span := prepared[right][i][1]) is not None)
        spans = _intersect(spans, held)
        if not spans:
            break
    return tuple(_window(span) for span in spans)


def _grant_span(grant: RightGrant) -> Span | None:
    """The grant's window as ordinals, or None when it is empty or contradictory (it grants nothing)."""
    start = _OPEN_START if grant.starts_on is None else grant.starts_on.toordinal()
    end = _OPEN_END if grant.ends_on is None else grant.ends_on.toordinal()
    return (start, end) if start < end else None


def _union(spans: Iterable[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _intersect(left: Sequence[Span], right: Sequence[Span]) -> list[Span]:
    """Both inputs sorted, disjoint and non-touching; so is the result."""
    result: list[Span] = []
    i = j = 0
    while i < len(left) and j < len(right):
        start, end = max(left[i][0], right[j][0]), min(left[i][1], right[j][1])
        if start < end:
            result.append((start, end))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return result


def _span(window: DateWindow) -> Span:
    start = _OPEN_START if window.starts_on is None else window.starts_on.toordinal()
    end = _OPEN_END if window.ends_on is None else window.ends_on.toordinal()
    return start, end


def _window(span: Span) -> DateWindow:
    start, end = span
    return DateWindow(
        starts_on=None if start == _OPEN_START else date.fromordinal(start),
        ends_on=None if end == _OPEN_END else date.fromordinal(end),
    )


# ------------------------------------------------------------------------------------------ findings
def rights_findings(
    episode: Episode, policy: RightsPolicy, known_territories: Iterable[str] = KNOWN_TERRITORIES
) -> list[Finding]:
    """Contradictory or incomplete rights: each is blocking, so the content is held until fixed.

    Codes: `territory_included_and_excluded`, `unknown_territory`, `window_ends_before_start`,
    `unknown_right_type`, `missing_right:<type>` (a required type with no grant at all, whatever its
    window), and `not_for_sale_anywhere` (no known territory remains).
    """
    known = frozenset(known_territories)
    findings: list[Finding] = []

    def add(code: str, message: str) -> None:
        findings.append(Finding(code=code, entity=str(episode_key(episode.product_id)), message=message, flow=FlowName.RIGHTS_SYNC))

    def check_territories(territories: Territories, where: str) -> None:
        both = sorted(set(territories.included) & set(territories.excluded))
        if both:
            add("territory_included_and_excluded", f"{where}: {', '.join(both)} both for sale and not for sale")
        unknown = sorted((set(territories.included) | set(territories.excluded)) - known)
        if unknown:
            add("unknown_territory", f"{where}: unknown country codes {', '.join(unknown)}")

    check_territories(episode.territories, "product territories")
    if not (sales_territories(episode.territories, known)):
        add("not_for_sale_anywhere", "the product is not for sale in any known territory")

    granted: set[str] = set()
    for grant in episode.rights:
        where = f"contract {grant.contract_id} right {grant.right_type!r}"
        canonical = policy.canonical_right_type(grant.right_type)
        if canonical is None:
            add("unknown_right_type", f"{where}: unknown right type (known: {', '.join(sorted(policy.known_right_types))})")
        else:
            granted.add(canonical)
        if grant.starts_on is not None and grant.ends_on is not None and grant.ends_on < grant.starts_on:
            add("window_ends_before_start", f"{where}: ends {grant.ends_on} before it starts {grant.starts_on}")
        if grant.territories is not None:
            check_territories(grant.territories, where)

    for right in policy.required_for(episode.kind):
        if right not in granted:
            add(f"missing_right:{right}", f"a {episode.kind.value} episode needs a {right} right; no contract grants it")
    return findings


class RightsAssessment(BaseModel):
    """Clearance and findings together: blocking findings hold the content wherever it is cleared."""

    model_config = ConfigDict(frozen=True)

    clearance: Clearance
    findings: tuple[Finding, ...] = ()

    @property
    def blocked(self) -> bool:
        return any(f.blocking for f in self.findings)

    def live_territories_on(self, day: date) -> set[str]:
        return set() if self.blocked else self.clearance.territories_on(day)


def assess_rights(
    episode: Episode, policy: RightsPolicy, universe: Iterable[str] = KNOWN_TERRITORIES
) -> RightsAssessment:
    universe = frozenset(universe)
    return RightsAssessment(
        clearance=compute_clearance(episode, policy, universe),
        findings=tuple(rights_findings(episode, policy, universe)),
    )

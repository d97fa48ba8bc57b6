"""Series ordering and attribution rules: what must hold across a show before any episode is pushed.

Pure functions over domain episodes. A conflict makes a blocking finding on every episode it involves,
and those episodes are not pushed until Consonance is corrected:
- every episode of a serial has a part number, and no two share one;
- release dates rise (never fall) with part order;
- narrated kinds credit a narrator (ONIX E07 "read by" or E03 "narrator");
- author attribution (ONIX A01) is the same across the series;
- no two episodes of a show carry the same title.
"""

from __future__ import annotations

from functions.flow_names import FlowName
from functions.state.keys import episode_key

from collections import Counter, defaultdict

from functions.domain.models import Episode, Finding
from functions.mapping_config import MappingConfig

FLOW = FlowName.METADATA_SYNC  # series conflicts are found (and held) by metadata sync


def series_conflicts(episodes: list[Episode], config: MappingConfig) -> dict[int, list[Finding]]:
    """Blocking findings per product id; products without a conflict are absent."""
    found: dict[int, list[Finding]] = defaultdict(list)

    def add(episode: Episode, code: str, message: str) -> None:
        found[episode.product_id].append(
            Finding(code=code, entity=str(episode_key(episode.product_id)), message=message, flow=FLOW)
        )

    numbered = [e for e in episodes if e.part_number is not None]
    for episode in episodes:
        if episode.part_number is None:
            add(episode, "missing_part_number", f"'{episode.title}' has no part number in its series")
        if episode.kind.value in config.narrated_kinds and not episode.credits_with_roles(config.narrator_role_codes):
            add(episode, "missing_narrator_credit", f"'{episode.title}' credits no narrator (ONIX E07/E03)")

    by_part: dict[int, list[Episode]] = defaultdict(list)
    for episode in numbered:
        by_part[episode.part_number].append(episode)  # type: ignore[index]
    for part, sharing in by_part.items():
        if len(sharing) > 1:
            ids = ", ".join(str(e.product_id) for e in sharing)
            for episode in sharing:
                add(episode, "duplicate_part_number", f"part {part} is used by products {ids}")

    ordered = sorted((e for e in numbered if e.release_date), key=lambda e: (e.part_number, e.product_id))
    latest: Episode | None = None
    for episode in ordered:
        if latest is not None and episode.part_number != latest.part_number and episode.release_date < latest.release_date:  # type: ignore[operator]
            add(
                episode,
                "release_out_of_order",
                f"part {episode.part_number} releases {episode.release_date} before part "
                f"{latest.part_number} ({latest.release_date})",
            )
        if latest is None or episode.release_date > latest.release_date:  # type: ignore[operator]
            latest = episode

    authors = {e.product_id: _authors(e, config) for e in episodes}
    usual = Counter(a for a in authors.values() if a).most_common(1)
    if usual:
        expected = usual[0][0]
        for episode in episodes:
            if authors[episode.product_id] and authors[episode.product_id] != expected:
                add(
                    episode,
                    "inconsistent_author_attribution",
                    f"'{episode.title}' credits {', '.join(authors[episode.product_id])} as author; "
                    f"the series credits {', '.join(expected)}",
                )

    titles = Counter(e.title.strip().casefold() for e in episodes)
    for episode in episodes:
        if titles[episode.title.strip().casefold()] > 1:
            add(episode, "duplicate_title", f"another episode of the show is also titled '{episode.title}'")
    return dict(found)


def _authors(episode: Episode, config: MappingConfig) -> tuple[str, ...]:
    return tuple(c.name for c in episode.credits_with_roles(config.author_role_codes))

"""A small catalogue with generated listening, ingested through all three sources into a store — the
dataset the listening, report and end-to-end rollup tests share.

Catalogue: series "Coast" (Tide, Storm) and "Ridge" (Hills), plus a standalone title (Letters); four
authors; three main subjects; two episodes per title, released weeks before their book's publication;
Tide has a pre-order campaign, Hills a backlist promotion far from its launch.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

from functions.analytics.ads_facts import AggregateReport, report_facts
from functions.analytics.creators_facts import CreatorsOptIn, collect_show, write_collection
from functions.analytics.facts import ContributorDimension, Dimensions, EpisodeDimension, MilestoneDimension, TitleDimension
from functions.analytics.megaphone_export import classify_key, ingest_day_file
from functions.analytics.store import FactStore, Partition, local_store
from functions.connectors.http import clear_routes, route_host
from functions.connectors.spotify_creators import CreatorsCredentials, SpotifyCreatorsClient
from sandbox.clock import VirtualClock
from sandbox.listening import ListeningGenerator, ListeningPlan
from sandbox.simulators.spotify_creators import ACCOUNTS_HOST, API_HOST, SpotifyCreatorsSimulator

ACCOUNT = ("sandbox-sp-dc", "sandbox-sp-key")
PLAN = ListeningPlan(
    first_day=date(2025, 1, 1),
    last_day=date(2025, 4, 30),
    seed=11,
    missing_export_day=date(2025, 2, 3),
    overwritten_export_day=date(2025, 2, 4),
    creators_login_expires_on=date(2025, 4, 20),
)
RETRIEVED = datetime(2025, 5, 1, 6, 0, tzinfo=timezone.utc)


def _title(work: str, name: str, series: tuple[str, str] | None, subject: tuple[str, str, str], published: date) -> TitleDimension:
    return TitleDimension(
        work_id=work, title=name, series_id=series[0] if series else None, series_name=series[1] if series else None,
        main_subject_scheme=subject[0], main_subject_code=subject[1], main_subject_label=subject[2], publication_date=published,  # type: ignore[arg-type]
    )


FICTION = ("THEMA", "FBA", "Modern fiction")
HISTORY = ("BISAC", "HIS000000", "History")
MEMOIR = ("THEMA", "DNC", "Memoirs")
DIMENSIONS = Dimensions(
    titles=(
        _title("w-tide", "Tide", ("s-coast", "Coast"), FICTION, date(2025, 3, 3)),
        _title("w-storm", "Storm", ("s-coast", "Coast"), FICTION, date(2025, 4, 7)),
        _title("w-hills", "Hills", ("s-ridge", "Ridge"), HISTORY, date(2025, 2, 24)),
        _title("w-letters", "Letters", None, MEMOIR, date(2025, 3, 24)),
    ),
    episodes=tuple(
        EpisodeDimension(
            product_id=f"p-{work}-{part}", work_id=f"w-{work}", episode_title=f"{work.title()} part {part}",
            megaphone_podcast_id=f"pod-{show}", megaphone_episode_id=f"mep-{work}-{part}",
            spotify_show_id=f"show{show}", spotify_episode_id=f"ep{work}{part}", release_date=released,
        )
        for work, show, released in (
            ("tide", "coast", date(2025, 1, 6)), ("storm", "coast", date(2025, 2, 10)),
            ("hills", "ridge", date(2025, 1, 13)), ("letters", "letters", date(2025, 1, 20)),
        )
        for part in (1, 2)
    ),
    contributors=(
        ContributorDimension(work_id="w-tide", contributor_id="c-ann", contributor_name="Ann Shore", role_code="A01"),
        ContributorDimension(work_id="w-storm", contributor_id="c-ann", contributor_name="Ann Shore", role_code="A01"),
        ContributorDimension(work_id="w-hills", contributor_id="c-bob", contributor_name="Bob Hale", role_code="A01"),
        ContributorDimension(work_id="w-letters", contributor_id="c-cy", contributor_name="Cy Penn", role_code="A01"),
        ContributorDimension(work_id="w-letters", contributor_id="c-dee", contributor_name="Dee Voice", role_code="E07", sequence_number=2),
    ),
    milestones=(
        MilestoneDimension(work_id="w-tide", milestone="pre_order", milestone_date=date(2025, 1, 20), campaign_id="camp-tide", window_end=date(2025, 1, 30)),
        MilestoneDimension(work_id="w-hills", milestone="backlist_promotion", milestone_date=date(2025, 4, 7), campaign_id="camp-hills", window_end=date(2025, 4, 20)),
    ),
)


def ingest_export(generator: ListeningGenerator, store: FactStore) -> None:
    known = {e.megaphone_episode_id for e in DIMENSIONS.episodes if e.megaphone_episode_id}
    for drop in generator.export_drops():
        exported = classify_key(drop.key)
        if exported is not None and exported.kind == "delivery":
            ingest_day_file(_stream(drop.body), drop.key, store, retrieved_at=RETRIEVED, known_episodes=known)


def collect_creators(generator: ListeningGenerator, store: FactStore) -> SpotifyCreatorsSimulator:
    clock = VirtualClock(RETRIEVED)
    from functions.clock import SystemClock, use_clock

    use_clock(clock)
    try:
        simulator = SpotifyCreatorsSimulator(clock)
        simulator.add_account(*ACCOUNT)
        generator.feed_creators(simulator, ACCOUNT[0])
        route_host(ACCOUNTS_HOST, simulator)
        route_host(API_HOST, simulator)
        client = SpotifyCreatorsClient(CreatorsCredentials(sp_dc=ACCOUNT[0], sp_key=ACCOUNT[1]))
        shows = sorted({e.spotify_show_id for e in DIMENSIONS.episodes if e.spotify_show_id})
        opt_in = CreatorsOptIn(enabled=True, shows=tuple(shows))
        for show in shows:
            episodes = [e.spotify_episode_id for e in DIMENSIONS.episodes if e.spotify_show_id == show and e.spotify_episode_id]
            collection = collect_show(client, show, episodes, PLAN.first_day, PLAN.last_day, retrieved_at=RETRIEVED, opt_in=opt_in)
            write_collection(store, collection)
        return simulator
    finally:
        clear_routes()
        use_clock(SystemClock())


def ingest_ads(generator: ListeningGenerator, store: FactStore) -> None:
    delivered: list[tuple[str, date, dict[str, float]]] = []
    generator.deliver_ads(lambda entity, day, stats: delivered.append((entity, day, stats)))
    by_day: dict[date, list[dict]] = {}
    for entity, day, stats in delivered:
        by_day.setdefault(day, []).append(
            {
                "entity_type": "CAMPAIGN", "entity_id": entity,
                "start_time": f"{day.isoformat()}T00:00:00Z", "end_time": f"{date.fromordinal(day.toordinal() + 1).isoformat()}T00:00:00Z",
                "stats": [{"field_type": k, "field_value": v} for k, v in stats.items()],
            }
        )
    for day, rows in by_day.items():
        report = AggregateReport.model_validate({"granularity": "DAY", "rows": rows})
        store.replace_batch(Partition("spotify_ads", day), "account-sandbox", report_facts(report, retrieved_at=RETRIEVED, origin="ads:sandbox"))


def build(root: Path) -> ListeningGenerator:
    """Generate the plan's listening and ingest it through the three sources into a store at `root`."""
    generator = ListeningGenerator(DIMENSIONS, PLAN)
    store = local_store(root)
    store.write_dimensions(DIMENSIONS)
    ingest_export(generator, store)
    collect_creators(generator, store)
    ingest_ads(generator, store)
    return generator


def _stream(body: bytes):  # type: ignore[no-untyped-def]
    import io

    return io.BytesIO(body)

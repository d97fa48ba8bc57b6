"""Nightly listening analytics: what the store means, what is missing, what to collect, what to tell.

1. Dimensions: the audio products the ledger knows (their works, shows, credits, Megaphone and Spotify
   ids) and those works from Consonance (title, series, main subject, the book launch they are
   compared with), with the title milestones the campaign flows recorded (`title_milestones`), are
   written to the store (`functions/analytics/dimensions.py`); the rollups join facts to them.
2. Missing export days: a final day with no Megaphone export becomes a finding on that day's ledger
   entry (Megaphone keeps no backfill: a person must ask).
3. Spotify for Creators (UNOFFICIAL, opt-in): one `CreatorsCollectionDue` per opted-in show, for the
   days since its last collection (the first reaches back `creatorsBackfillDays`), always including the
   last few days again (the dashboard's figures settle late).
4. Summaries: the rollups on Athena (the same SQL DuckDB runs locally) give each work with audio a
   short text for the last 28 days up to yesterday — plays, completion, followers, the launch
   comparison, paid delivery — written to Consonance as the work's `analytics-summary` internal note,
   updated in place with a link to the full report. The text is a pure function of the rollups, so a
   re-run of the same night writes nothing (`ConsonanceWriteback` compares content hashes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from functions.analytics.creators_facts import CreatorsOptIn
from functions.analytics.dimensions import AudioProduct, build_dimensions, works_to_read
from functions.analytics.facts import MilestoneDimension
from functions.analytics.intake import creators_entry, record_missing_export_days
from functions.analytics.rollups import RollupRunner
from functions.analytics.store import FactStore
from functions.analytics.summary import WorkSummary, work_summaries
from functions.connectors.consonance.client import ConsonanceClient
from functions.connectors.consonance.records import AnalyticsWorkRecord
from functions.consonance_writes import ConsonanceWriteback, InternalNote
from functions.domain.events import CreatorsCollectionDue
from functions.event_bus import EventBus
from functions.settings import AnalyticsSettings
from functions.state.keys import campaign_parts, work_key
from functions.state.ledger import SyncLedger
from functions.state.targets import (
    CONSONANCE_WRITEBACK,
    EPISODE_SOURCE,
    MEGAPHONE,
    MILESTONE,
    SPOTIFY_ADS,
    EpisodeSourceState,
    MegaphoneState,
    MilestoneStatus,
)

SUMMARY_PURPOSE = "analytics-summary"
WORKS_PER_REQUEST = 25  # aliased works in one Consonance query
NOTES_PER_REQUEST = 20  # aliased marketing-text mutations in one Consonance request


@dataclass
class NightlyDeps:
    ledger: SyncLedger
    consonance: ConsonanceClient
    writeback: ConsonanceWriteback
    store: FactStore
    rollups: RollupRunner
    bus: EventBus
    settings: AnalyticsSettings
    flow: str


@dataclass
class NightlyOutcome:
    as_of: date
    titles: int = 0
    episodes: int = 0
    missing_export_days: list[str] = field(default_factory=list)
    creators_requested: list[str] = field(default_factory=list)
    summaries: int = 0
    notes_failed: list[str] = field(default_factory=list)


def run_nightly(deps: NightlyDeps, now: datetime) -> NightlyOutcome:
    today = now.date()
    outcome = NightlyOutcome(as_of=today - timedelta(days=1))
    products = audio_products(deps.ledger)
    works = read_works(deps.consonance, works_to_read(products, deps.settings.analytics_related_books))
    dimensions = build_dimensions(
        products,
        works,
        related_books=deps.settings.analytics_related_books,
        creators_shows=deps.settings.creators_shows if deps.settings.creators_enabled else {},
        author_roles=deps.settings.analytics_author_roles,
        book_types=deps.settings.analytics_book_product_types,
        milestones=title_milestones(deps.ledger),
    )
    deps.store.write_dimensions(dimensions, deps.settings.analytics_author_roles)
    outcome.titles, outcome.episodes = len(dimensions.titles), len(dimensions.episodes)
    missing = record_missing_export_days(deps.ledger, deps.store, today, deps.settings.analytics_missing_days_lookback, deps.flow)
    outcome.missing_export_days = [day.isoformat() for day in missing]
    due = creators_collections(deps, today)
    if due:
        deps.bus.publish(due)
    outcome.creators_requested = [event.show_id for event in due]
    summaries = summaries_to_write(work_summaries(deps.rollups, outcome.as_of), deps.ledger)
    outcome.summaries = len(summaries)
    outcome.notes_failed = write_summaries(deps.writeback, summaries, deps.settings.analytics_report_url)
    return outcome


def audio_products(ledger: SyncLedger) -> list[AudioProduct]:
    """Every audio product the poller mapped, with its Megaphone delivery where there is one."""
    deliveries: dict[str, MegaphoneState] = {}
    for entry in ledger.scan(MEGAPHONE):
        assert isinstance(entry.state, MegaphoneState)
        deliveries[entry.entity] = entry.state
    products = []
    for entry in ledger.scan(EPISODE_SOURCE):
        assert isinstance(entry.state, EpisodeSourceState)
        if entry.state.episode is not None:
            products.append(AudioProduct(entry.state.episode, deliveries.get(entry.entity)))
    return products


def title_milestones(ledger: SyncLedger) -> list[MilestoneDimension]:
    """The title milestones the milestone detector announced, with the Ads campaign the planner prepared
    for each: the dates the launch comparison and the report's campaign windows are drawn around.

    - its campaign is the Ads campaign id the planner keeps (drafts, live or paused: the Ads report
      collector reads the same ids, so their delivery facts join the title);
    - its date is the campaign's first day where there is a campaign (the activity the audio is
      compared around; a pre-order window may have opened weeks before the campaign could start),
      else the day the milestone's window opened; its end is the campaign's last day (the day before
      the planned end: the ad sets end at that midnight);
    - a cancelled milestone counts only when its campaign still exists (a live campaign was paused:
      it delivered until then); one whose drafts were deleted never ran and is left out."""
    announced = [entry for status in MilestoneStatus for entry in ledger.by_status(MILESTONE, status)]
    campaigns = ledger.get_many([entry.key for entry in announced], SPOTIFY_ADS)
    rows = []
    for entry in sorted(announced, key=lambda e: e.entity):
        window = entry.state.window
        campaign = campaigns.get(entry.key)
        campaign_id = campaign.state.campaign_id if campaign is not None else None
        if window is None or (entry.status != MilestoneStatus.REACHED and campaign_id is None):
            continue
        work_id, milestone = campaign_parts(entry.key)
        starts_on, ends_on = (campaign.state.starts_on, campaign.state.ends_on) if campaign is not None and campaign_id is not None else (None, None)
        rows.append(
            MilestoneDimension(
                work_id=str(work_id),
                milestone=milestone,
                milestone_date=starts_on or window.opens_on,
                campaign_id=campaign_id,
                window_end=ends_on - timedelta(days=1) if ends_on is not None else None,
            )
        )
    return rows


def read_works(consonance: ConsonanceClient, work_ids: Sequence[int]) -> dict[int, AnalyticsWorkRecord]:
    works: dict[int, AnalyticsWorkRecord] = {}
    for start in range(0, len(work_ids), WORKS_PER_REQUEST):
        works.update(consonance.analytics_works(work_ids[start : start + WORKS_PER_REQUEST]))
    return works


def creators_collections(deps: NightlyDeps, today: date) -> list[CreatorsCollectionDue]:
    """One request per opted-in show: from the day after its last collection (or the backfill for a
    first one), and always the last `creators_recollect_days` again, up to yesterday."""
    settings = deps.settings
    opt_in = CreatorsOptIn(enabled=settings.creators_enabled, shows=tuple(settings.creators_shows))
    last_day = today - timedelta(days=1)
    earliest = last_day - timedelta(days=settings.creators_backfill_days - 1)
    recollect_from = last_day - timedelta(days=settings.creators_recollect_days - 1)
    due = []
    for show in opt_in.shows_to_collect():
        entry = creators_entry(deps.ledger, show)
        collected_until = entry.state.last_day if entry is not None else None
        first_day = earliest if collected_until is None else max(earliest, min(recollect_from, collected_until + timedelta(days=1)))
        due.append(CreatorsCollectionDue(show_id=show, first_day=first_day, last_day=last_day))
    return due


def summaries_to_write(summaries: Sequence[WorkSummary], ledger: SyncLedger) -> list[WorkSummary]:
    """The works listened to in the window, and the works that went quiet but carry a summary from
    before (so their note says so instead of keeping old figures); a work never listened to gets none."""
    active = [s for s in summaries if s.plays_28d or s.ad_impressions_28d]
    quiet = [s for s in summaries if not (s.plays_28d or s.ad_impressions_28d)]
    if not quiet:
        return active
    entries = ledger.get_many([work_key(int(s.work_id)) for s in quiet], CONSONANCE_WRITEBACK)
    noted = {key for key, entry in entries.items() if SUMMARY_PURPOSE in entry.state.texts}
    return active + [s for s in quiet if work_key(int(s.work_id)) in noted]


def write_summaries(writeback: ConsonanceWriteback, summaries: Sequence[WorkSummary], report_url: str | None) -> list[str]:
    """Each work's summary as its internal note (updated in place; unchanged text writes nothing).
    Returns the works whose note Consonance refused, with the reason."""
    notes = [
        InternalNote(
            key=work_key(int(summary.work_id)),
            purpose=SUMMARY_PURPOSE,
            work_id=int(summary.work_id),
            markdown=summary.model_copy(update={"report_url": _report_link(report_url, summary.work_id)}).markdown(),
        )
        for summary in summaries
    ]
    failed: list[str] = []
    for start in range(0, len(notes), NOTES_PER_REQUEST):
        batch = notes[start : start + NOTES_PER_REQUEST]
        for note, error in zip(batch, writeback.write_internal_notes(batch), strict=True):
            if error is not None:
                failed.append(f"work {note.work_id}: {error}")
    return failed


def _report_link(template: str | None, work_id: str) -> str | None:
    """The report's URL, with `{work_id}` filled in when the template names it."""
    return template.replace("{work_id}", work_id) if template else None

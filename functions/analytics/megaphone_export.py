"""Megaphone's delivery export (official, S3): from one gzip JSON-lines day file to downloads per
episode, day and country.

What Megaphone drops in the publisher's bucket (facts sheet, ANALYTICS-FACTS.md §b):
- legacy `metrics-day-YYYY-MM-DD.json.gz` and V2 `delivery-v2-day-YYYY-MM-DD.json.gz`, one per UTC day,
  overwritten every hour until the day is final (legacy by 04:30Z, V2 by 11:00 UTC the next day);
  impression files (`impression-day-…`, `impressions-v2-day-…`) are not delivery and are ignored here;
- a completion marker `_finalized_<metric_type>_<partition_date>_<timestamp>` once a day is final.
- Delivery fields (legacy; V2's full list was not published, so the same names are assumed —
  `ExportFieldNames` makes them configurable): `id, created_at, podcast_id, episode_id, country, region,
  city, dma_name, ip, user_agent, normalized_user_agent, source, filesize, bytes_sent,
  seconds_downloaded, duration, blacklisted_ip, blacklisted_ua`.

Counting (inferred; every rule is a `DownloadCounting` setting): a delivery counts as a download when
neither its IP nor its user agent is flagged by Megaphone, its user agent matches none of the
configured bot markers, it carried at least `min_seconds_downloaded` of audio (or the whole episode, if
shorter), and it is the first from that IP + user agent for that episode that UTC day.

Streaming: the file is decompressed and read line by line; only the counts per (episode, country) and
one 8-byte hash per distinct listener are held, so a day of a 5,000-episode catalogue fits one Lambda
invocation (`make bench`). Nothing is written until the whole file has been read, so a truncated file
leaves the day's earlier figures in place.

Bad input: a truncated or non-gzip file is `ExportFileCorrupt`; a file whose lines mostly do not have
the delivery shape is `ExportSchemaMismatch` (both permanent: to the DLQ with the reason). A few bad
lines, lines of another day and episodes the integration does not know are left out and reported as
findings, and the rest is ingested.
"""

from __future__ import annotations

import gzip
import io
import re
import zlib
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import BinaryIO, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from functions.analytics.download_counting import DownloadCounting, ExportFieldNames
from functions.analytics.facts import DailyFact, Metric, Source, fact
from functions.analytics.store import FactStore, Partition, WrittenBatch
from functions.domain.errors import PermanentError
from functions.domain.models import Finding

SOURCE: Source = "megaphone_export"
BATCH = "delivery"  # legacy and V2 files of one day write the same batch: the later replaces the earlier
READ_BUFFER_BYTES = 1 << 20
MAX_REASONS = 5

_DAY_FILE = re.compile(r"^(?P<kind>metrics-day|delivery-v2-day|impression-day|impressions-v2-day)-(?P<day>\d{4}-\d{2}-\d{2})\.json\.gz$")
_MARKER = re.compile(r"^_finalized_(?P<metric_type>.+)_(?P<day>\d{4}-\d{2}-\d{2})_(?P<stamp>[^_/]+)$")
_NAMING = {"metrics-day": "legacy", "delivery-v2-day": "v2", "impression-day": "legacy", "impressions-v2-day": "v2"}


class ExportFileCorrupt(PermanentError):
    code = "export_file_corrupt"


class ExportSchemaMismatch(PermanentError):
    code = "export_schema_mismatch"


class NotADeliveryFile(PermanentError):
    code = "not_a_delivery_file"


# ------------------------------------------------------------------------------------------ object keys
@dataclass(frozen=True)
class ExportObject:
    """What an object key in the export bucket is."""

    key: str
    kind: Literal["delivery", "impressions", "finalized_marker"]
    day: date
    naming: Literal["legacy", "v2"] | None = None
    metric_type: str | None = None  # markers only

    @property
    def day_file_names(self) -> tuple[str, ...]:
        """For a marker: the delivery day files it declares final (V2 first, then legacy)."""
        stamp = self.day.isoformat()
        return (f"delivery-v2-day-{stamp}.json.gz", f"metrics-day-{stamp}.json.gz")


def classify_key(key: str) -> ExportObject | None:
    """The export object a key names, or None for anything else in the bucket."""
    name = key.rsplit("/", 1)[-1]
    day_file = _DAY_FILE.match(name)
    if day_file:
        kind = day_file.group("kind")
        return ExportObject(
            key=key,
            kind="delivery" if kind in ("metrics-day", "delivery-v2-day") else "impressions",
            day=_iso_day(day_file.group("day")),
            naming=_NAMING[kind],  # type: ignore[arg-type]
        )
    marker = _MARKER.match(name)
    if marker:
        return ExportObject(key=key, kind="finalized_marker", day=_iso_day(marker.group("day")), metric_type=marker.group("metric_type"))
    return None


def _iso_day(text: str) -> date:
    return date.fromisoformat(text)


# ------------------------------------------------------------------------------------------ result
@dataclass
class ExportIngest:
    """What one day file gave: the facts, the counts behind them, and what a person should see."""

    object: ExportObject
    facts: list[DailyFact]
    lines_read: int = 0
    downloads: int = 0
    flagged: int = 0
    too_short: int = 0
    repeated_listener: int = 0
    unknown_episode: int = 0
    other_day: int = 0
    rejected_lines: int = 0
    findings: list[Finding] = field(default_factory=list)
    written: WrittenBatch | None = None


class _Delivery(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    created_at: datetime
    podcast_id: str = Field(min_length=1)
    episode_id: str = Field(min_length=1)
    country: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    normalized_user_agent: str | None = None
    seconds_downloaded: float | None = None
    duration: float | None = None
    flagged_ip: bool | None = False
    flagged_user_agent: bool | None = False


def _delivery_model(names: ExportFieldNames) -> type[_Delivery]:
    """`_Delivery` reading the configured field names (aliases), built once per settings."""
    if names == ExportFieldNames():
        return _LegacyDelivery
    return _aliased(names)


def _aliased(names: ExportFieldNames) -> type[_Delivery]:
    from pydantic import create_model
    from pydantic.fields import FieldInfo

    fields = {
        name: (info.annotation, FieldInfo.merge_field_infos(info, alias=getattr(names, name), validation_alias=getattr(names, name)))
        for name, info in _Delivery.model_fields.items()
    }
    return create_model("ConfiguredDelivery", __base__=_Delivery, **fields)  # type: ignore[call-overload,no-any-return]


_LegacyDelivery = _aliased(ExportFieldNames())


# ------------------------------------------------------------------------------------------ parsing
def parse_day_file(
    stream: BinaryIO,
    key: str,
    *,
    retrieved_at: datetime,
    known_episodes: Collection[str] | None = None,
    counting: DownloadCounting | None = None,
    flow: str = "analytics-export-ingest",
) -> ExportIngest:
    """Read a delivery day file (gzip JSON lines) and reduce it to download facts.

    `known_episodes`: the Megaphone episode ids the integration published (from the ledger); rows of
    other episodes are left out and reported. None accepts every episode.
    """
    counting = counting or DownloadCounting()
    exported = classify_key(key)
    if exported is None or exported.kind != "delivery":
        raise NotADeliveryFile(f"{key}: not a Megaphone delivery day file (metrics-day-… or delivery-v2-day-…)")
    model = _delivery_model(counting.fields)
    result = ExportIngest(object=exported, facts=[])
    bots = tuple(marker.lower() for marker in counting.bot_user_agent_markers)
    per_country: Counter[tuple[str, str, str]] = Counter()  # (episode, podcast, country) -> downloads
    listeners: set[int] = set()
    unknown: Counter[str] = Counter()
    reasons: list[str] = []

    try:
        reader = io.BufferedReader(gzip.GzipFile(fileobj=stream, mode="rb"), buffer_size=READ_BUFFER_BYTES)
        for number, line in enumerate(reader, start=1):
            if not line.strip():
                continue
            result.lines_read += 1
            try:
                row = model.model_validate_json(line)
            except ValidationError as exc:
                result.rejected_lines += 1
                if len(reasons) < MAX_REASONS:
                    reasons.append(f"line {number}: {_line_errors(exc)}")
                continue
            created = row.created_at if row.created_at.tzinfo is None else row.created_at.astimezone(timezone.utc)
            if created.date() != exported.day:  # a time without a zone is taken as UTC
                result.other_day += 1
                continue
            if known_episodes is not None and row.episode_id not in known_episodes:
                result.unknown_episode += 1
                unknown[row.episode_id] += 1
                continue
            agent = row.normalized_user_agent or row.user_agent or ""
            if counting.drop_flagged and (row.flagged_ip or row.flagged_user_agent):
                result.flagged += 1
                continue
            if bots and any(marker in agent.lower() for marker in bots):
                result.flagged += 1
                continue
            if counting.min_seconds_downloaded is not None and row.seconds_downloaded is not None:
                needed = counting.min_seconds_downloaded if row.duration is None else min(counting.min_seconds_downloaded, row.duration)
                if row.seconds_downloaded < needed:
                    result.too_short += 1
                    continue
            if counting.one_per_listener_per_day and row.ip:
                listener = hash((row.episode_id, row.ip, agent))
                if listener in listeners:
                    result.repeated_listener += 1
                    continue
                listeners.add(listener)
            per_country[(row.episode_id, row.podcast_id, (row.country or "").upper() or "ZZ")] += 1
            result.downloads += 1
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise ExportFileCorrupt(f"{key}: unreadable gzip after {result.lines_read} lines ({exc.__class__.__name__}: {exc})") from exc

    valid = result.lines_read - result.rejected_lines
    if result.lines_read and (valid == 0 or result.rejected_lines / result.lines_read > counting.max_rejected_line_ratio):
        raise ExportSchemaMismatch(
            f"{key}: {result.rejected_lines} of {result.lines_read} lines are not delivery records; first: " + "; ".join(reasons)
        )
    result.facts = _facts(per_country, exported, key, retrieved_at)
    result.findings = _findings(result, unknown, reasons, key, flow)
    return result


def _facts(per_country: Counter[tuple[str, str, str]], exported: ExportObject, key: str, retrieved_at: datetime) -> list[DailyFact]:
    """One total per episode, plus one slice per country that had downloads (slices add up to the total)."""
    totals: Counter[tuple[str, str]] = Counter()
    for (episode, podcast, _), count in per_country.items():
        totals[(episode, podcast)] += count
    rows = [
        fact(SOURCE, exported.day, "episode", episode, Metric.DOWNLOADS, count, retrieved_at=retrieved_at, origin=key, show_id=podcast)
        for (episode, podcast), count in sorted(totals.items())
    ]
    rows += [
        fact(
            SOURCE, exported.day, "episode", episode, Metric.DOWNLOADS, count,
            retrieved_at=retrieved_at, origin=key, show_id=podcast, dimension="country", dimension_value=country,
        )
        for (episode, podcast, country), count in sorted(per_country.items())
    ]
    return rows


def _findings(result: ExportIngest, unknown: Counter[str], reasons: list[str], key: str, flow: str) -> list[Finding]:
    findings = [
        Finding(
            code="unknown_episode",
            entity=f"megaphone-episode:{episode}",
            message=f"{count} deliveries in {key} are for episode {episode}, which the integration did not publish; "
            "left out (re-ingest the file once the ledger knows it)",
            flow=flow,
            blocking=False,
        )
        for episode, count in sorted(unknown.items())
    ]
    if result.rejected_lines:
        findings.append(
            Finding(
                code="export_lines_rejected",
                entity=f"megaphone-export:{key}",
                message=f"{result.rejected_lines} of {result.lines_read} lines are not delivery records and were left out: " + "; ".join(reasons),
                flow=flow,
                blocking=False,
            )
        )
    if result.other_day:
        findings.append(
            Finding(
                code="export_rows_other_day",
                entity=f"megaphone-export:{key}",
                message=f"{result.other_day} deliveries in the {result.object.day} file are dated another UTC day; left out",
                flow=flow,
                blocking=False,
            )
        )
    return findings


def _line_errors(exc: ValidationError) -> str:
    """`podcast_id, episode_id: Field required` — what was wrong with one line, briefly."""
    by_message: dict[str, list[str]] = {}
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ())) or "line"
        by_message.setdefault(error.get("msg", "invalid"), []).append(where)
    return "; ".join(f"{', '.join(fields)}: {message}" for message, fields in by_message.items())[:200]


def ingest_day_file(
    stream: BinaryIO,
    key: str,
    store: FactStore,
    *,
    retrieved_at: datetime,
    known_episodes: Collection[str] | None = None,
    counting: DownloadCounting | None = None,
    flow: str = "analytics-export-ingest",
) -> ExportIngest:
    """Parse a day file and replace that day's Megaphone partition with its downloads (idempotent: the
    same file ingested again, or a newer hourly version, leaves exactly one day's figures)."""
    result = parse_day_file(stream, key, retrieved_at=retrieved_at, known_episodes=known_episodes, counting=counting, flow=flow)
    result.written = store.replace_partition(Partition(SOURCE, result.object.day), BATCH, result.facts)
    return result


def missing_days(store: FactStore, first: date, last: date) -> list[date]:
    """Days in [first, last] with no Megaphone export ingested (no backfill exists: a finding for a person)."""
    from datetime import timedelta

    present = set(store.partition_days(SOURCE))
    days = []
    day = first
    while day <= last:
        if day not in present:
            days.append(day)
        day += timedelta(days=1)
    return days

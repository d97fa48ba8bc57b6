"""Analytics figures for `make bench` (its `analytics` part):

- export ingest: one UTC day of Megaphone's delivery export for a 5,000-episode catalogue (gzip JSON
  lines, with the flagged/short/repeated records the ingest drops), parsed, reduced and written as
  Parquet to a local store. Throughput in delivery records per second, measured in this process;
  peak memory of a fresh interpreter doing only the ingest (`VmHWM`, what Lambda's 512 MB limit
  counts: interpreter, pyarrow and the ingest's own data) and the ingest's own peak Python
  allocations (tracemalloc). Goals: under 60 s and under 512 MB.
- rollups: one year of daily facts for the same catalogue (downloads, starts, streams, listeners per
  episode and day; dimensions for 500 titles, 100 series, 300 authors, 40 genres) on DuckDB. The
  figure is the year's engagement rollup for every grouping (goal: under 5 s); the time of the four
  rollups a report runs (engagement, growth, launch comparison, launch curve for one grouping) is
  reported beside it, informational.
"""

from __future__ import annotations

import gzip
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from bench.results import Figure

INGEST_SECONDS_TARGET = 60.0
INGEST_MEMORY_MB_TARGET = 512.0
ROLLUP_SECONDS_TARGET = 5.0
DAY = date(2025, 6, 2)
RETRIEVED = datetime(2025, 6, 3, 12, 0, tzinfo=timezone.utc)
Say = Callable[[str], None]


# ------------------------------------------------------------------------------------------ export ingest
def export_day_file(path: Path, episodes: int, mean_downloads: float, seed: int = 5) -> tuple[int, int]:
    """Write one day's delivery export for `episodes` episodes; returns (records, counted downloads)."""
    from functions.analytics.facts import EpisodeDimension
    from sandbox.listening import delivery_record

    rng = random.Random(seed)
    records = counted = serial = 0
    with gzip.open(path, "wt", compresslevel=6) as stream:
        for number in range(episodes):
            episode = EpisodeDimension(
                product_id=f"p{number}", work_id="w", episode_title="", megaphone_podcast_id=f"pod-{number // 50}", megaphone_episode_id=f"ep-{number:05d}"
            )
            for _ in range(max(0, round(rng.expovariate(1 / mean_downloads)))):
                serial += 1
                record = delivery_record(episode, DAY, serial, "GB" if serial % 3 else "US", rng)
                stream.write(json.dumps(record) + "\n")
                records += 1
                counted += 1
                if serial % 12 == 0:  # a flagged user agent, dropped
                    stream.write(json.dumps({**record, "id": f"{record['id']}-bot", "blacklisted_ua": True}) + "\n")
                    records += 1
    return records, counted


def _ingest(path: Path, store_root: Path) -> int:
    from functions.analytics.megaphone_export import ingest_day_file
    from functions.analytics.store import local_store

    with path.open("rb") as stream:
        result = ingest_day_file(stream, f"delivery-v2-day-{DAY.isoformat()}.json.gz", local_store(store_root), retrieved_at=RETRIEVED)
    return result.downloads


# The child's own peak: `VmHWM` belongs to the interpreter's address space, which exec starts afresh.
# (`ru_maxrss` does not: Linux carries it across exec from the forked copy of the parent, so after the
# bench's other parts it reported the bench process's size, ~900 MB, instead of the ingest's.)
_CHILD = """
import sys
from pathlib import Path
from bench.analytics import _ingest
downloads = _ingest(Path(sys.argv[1]), Path(sys.argv[2]))
peak_kb = next(int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM:"))
print(downloads, peak_kb)
"""


def ingest_figures(say: Say, episodes: int = 5000, mean_downloads: float = 100.0) -> list[Figure]:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        path = root / f"delivery-v2-day-{DAY.isoformat()}.json.gz"
        say(f"  writing one day's export for {episodes} episodes ...")
        records, counted = export_day_file(path, episodes, mean_downloads)
        size_mb = path.stat().st_size / 1e6
        say(f"  {records} records, {size_mb:.1f} MB gzip; ingesting ...")
        started = time.perf_counter()
        downloads = _ingest(path, root / "store-timed")
        seconds = time.perf_counter() - started
        if downloads != counted:
            raise RuntimeError(f"ingest counted {downloads} downloads, the file holds {counted}")
        tracemalloc.start()
        _ingest(path, root / "store-traced")
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        child = subprocess.run(
            [sys.executable, "-c", _CHILD, str(path), str(root / "store-child")],
            capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[1],
        )
        child_downloads, max_rss_kb = (int(x) for x in child.stdout.split())
        if child_downloads != counted:
            raise RuntimeError("the fresh interpreter counted differently")
    rss_mb = max_rss_kb / 1024  # Linux reports kilobytes
    details = {"episodes": episodes, "records": records, "downloads": counted, "gzip_mb": round(size_mb, 1), "seconds": round(seconds, 2)}
    return [
        Figure(
            name="analytics_export_ingest_seconds", value=round(seconds, 2), target=INGEST_SECONDS_TARGET, unit="s",
            note=f"one day of {episodes} episodes: {records} delivery records ({size_mb:.1f} MB gzip), {records / seconds:,.0f} records/s",
            details=details,
        ),
        Figure(
            name="analytics_export_ingest_records_per_second", value=round(records / seconds), target=None, unit="records/s",
            note="gzip JSON lines parsed, filtered and reduced to downloads per episode, day and country, then written as Parquet",
            informational=True,
        ),
        Figure(
            name="analytics_export_ingest_peak_mb", value=round(rss_mb, 1), target=INGEST_MEMORY_MB_TARGET, unit="MB",
            note=f"peak RSS of a fresh interpreter doing only the ingest (Python, pyarrow, the data); the ingest's own Python allocations peak at {traced_peak / 1e6:.1f} MB (tracemalloc)",
            details={"tracemalloc_peak_mb": round(traced_peak / 1e6, 1)},
        ),
    ]


# ------------------------------------------------------------------------------------------ rollups
def year_of_facts(root: Path, episodes: int, days: int, seed: int = 9) -> int:
    """Write `days` days of facts for `episodes` episodes (vectorised), and matching dimensions."""
    import numpy as np
    import pyarrow as pa

    from functions.analytics.facts import ContributorDimension, Dimensions, EpisodeDimension, MilestoneDimension, TitleDimension
    from functions.analytics.store import FACT_SCHEMA, Partition, local_store

    rng = np.random.default_rng(seed)
    first = date(2025, 1, 1)
    titles = max(1, episodes // 10)
    store = local_store(root)
    store.write_dimensions(
        Dimensions(
            titles=tuple(
                TitleDimension(
                    work_id=f"w{t}", title=f"Title {t}", series_id=f"s{t % 100}", series_name=f"Series {t % 100}",
                    main_subject_scheme="THEMA", main_subject_code=f"G{t % 40}", main_subject_label=f"Genre {t % 40}",
                    publication_date=first + timedelta(days=int(t * 7 % days)),
                )
                for t in range(titles)
            ),
            episodes=tuple(
                EpisodeDimension(
                    product_id=f"p{e}", work_id=f"w{e % titles}", episode_title=f"Episode {e}", megaphone_podcast_id=f"pod{e % titles % 100}",
                    megaphone_episode_id=f"m{e}", spotify_show_id=f"show{e % titles % 100}", spotify_episode_id=f"sp{e}",
                )
                for e in range(episodes)
            ),
            contributors=tuple(ContributorDimension(work_id=f"w{t}", contributor_id=f"c{t % 300}", contributor_name=f"Author {t % 300}", role_code="A01") for t in range(titles)),
            milestones=tuple(
                MilestoneDimension(work_id=f"w{t}", milestone="pre_order", milestone_date=first + timedelta(days=int(t * 7 % days)), campaign_id=f"camp{t}")
                for t in range(0, titles, 5)
            ),
        )
    )
    rows = 0
    retrieved = datetime(2026, 1, 1)  # noqa: DTZ001 - the fact store keeps UTC stamps without a zone
    megaphone_ids = pa.array([f"m{e}" for e in range(episodes)])
    spotify_ids = pa.array([f"sp{e}" for e in range(episodes)])
    for offset in range(days):
        day = first + timedelta(days=offset)
        for source, ids, metrics in (("megaphone_export", megaphone_ids, ("downloads",)), ("spotify_creators", spotify_ids, ("starts", "streams", "listeners"))):
            columns = []
            for metric in metrics:
                values = rng.poisson(30, episodes).astype("float64")
                columns.append((metric, values))
            count = episodes * len(metrics)
            table = pa.table(
                {
                    "official": pa.array([source != "spotify_creators"] * count),
                    "entity_type": pa.array(["episode"] * count),
                    "entity_id": pa.concat_arrays([ids] * len(metrics)),
                    "show_id": pa.nulls(count, pa.string()),
                    "metric": pa.array([m for m, _ in columns for _ in range(episodes)]),
                    "dimension": pa.array(["total"] * count),
                    "dimension_value": pa.array([""] * count),
                    "value": pa.array(np.concatenate([v for _, v in columns])),
                    "retrieved_at": pa.array([retrieved] * count, pa.timestamp("ms")),
                    "origin": pa.array(["bench"] * count),
                },
                schema=FACT_SCHEMA,
            )
            store.replace_batch_table(Partition(source, day), "bench", table)  # type: ignore[arg-type]
            rows += count
    return rows


def rollup_figures(say: Say, episodes: int = 5000, days: int = 365) -> list[Figure]:
    from functions.analytics.duckdb_runner import DuckDBRunner
    from functions.analytics.rollups import run_rollup

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        say(f"  writing {days} days of facts for {episodes} episodes ...")
        rows = year_of_facts(root, episodes, days)
        last = date(2025, 1, 1) + timedelta(days=days - 1)
        runner = DuckDBRunner(root)
        timings: dict[str, float] = {}
        for name, arguments in (
            ("engagement", {"from_day": date(2025, 1, 1), "to_day": last}),
            ("growth", {"to_day": last}),
            ("launch_comparison", {"window_days": 28, "as_of": last}),
            ("launch_curve", {"window_days": 28, "group_type": "author"}),
        ):
            started = time.perf_counter()
            result = run_rollup(runner, name, **arguments)
            timings[name] = round(time.perf_counter() - started, 2)
            say(f"  {name}: {timings[name]:.2f} s, {len(result)} rows")
        runner.close()
    report_total = sum(timings.values())
    shape = f"{rows:,} daily facts ({episodes} episodes × {days} days × 4 metrics, Hive-partitioned Parquet, {days * 2} objects) on DuckDB"
    return [
        Figure(
            name="analytics_year_rollup_seconds", value=timings["engagement"], target=ROLLUP_SECONDS_TARGET, unit="s",
            note=f"engagement for every episode, title, series, author and genre over the whole year: {shape}",
            details={"rows": rows, "timings": timings, "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)},
        ),
        Figure(
            name="analytics_report_rollups_seconds", value=round(report_total, 2), target=None, unit="s", informational=True,
            note="the four rollups a report by author runs, one after the other (each recomputes the shared views; nothing is cached): "
            + ", ".join(f"{k} {v:.2f} s" for k, v in timings.items()),
        ),
    ]


def analytics_figures(say: Say, episodes: int = 5000) -> list[Figure]:
    return ingest_figures(say, episodes) + rollup_figures(say, episodes)


if __name__ == "__main__":
    from bench.results import table

    print(table(analytics_figures(lambda message: print(message, file=sys.stderr, flush=True))))

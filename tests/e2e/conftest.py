"""One run of the command-line entry, shared by the end-to-end tests: the report and request-log
checks, and the fault-free half of the fault-equivalence proof.

The run uses the bundled sample catalogue cut down to fourteen products of its three series (every
deliberate defect the sample carries for them kept), for two and a half virtual days: the whole
sample takes minutes of wall time per virtual day once the availability monitor polls Spotify for
every live episode, and these tests must stay well inside the suite's time budget."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import sandbox.world
from sandbox.__main__ import main
from sandbox.catalogue import load_catalogue
from tests.integration.small_catalogue import derived_sample

SAMPLE_DAYS = 2.5
SAMPLE_SEED = 7
# The Salt Road: live part 9, drafts 10 and 11 (11's title typo is fixed on day 2), the narrator gap
# (12), the duplicate part number (14/15), a part whose narration agreement ends before it releases
# (16) and a part releasing out of order (17). Inside the Ember Court: a description with a script,
# an over-long title, a draft. Larkspur Conversations: a bad ISBN, an unknown territory code, a
# product that is not approved.
SAMPLE_PRODUCTS = frozenset(
    {41009, 41010, 41011, 41012, 41014, 41015, 41016, 41017, 41105, 41108, 41110, 41204, 41206, 41208}
)


@dataclass(frozen=True)
class CliRun:
    exit_code: int
    catalogue_path: Path
    printed: str
    report_path: Path
    report: dict[str, Any]
    http_log_path: Path
    secret_values: tuple[str, ...]  # the credentials the run generated, to prove none leaked
    megaphone_requests: int  # requests that reached the Megaphone simulator


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> CliRun:
    """`python -m sandbox run --catalogue ... --days 2.5 --seed 7 --report ... --http-log ...`, in this process.

    The world the command builds is recorded (a subclass that only remembers itself) so the test can
    learn the credentials generated for the run; its behaviour is the command's own."""
    out = tmp_path_factory.mktemp("sample-run")
    report_path, http_log_path = out / "report.json", out / "http.jsonl"
    catalogue_path = out / "catalogue.json"
    catalogue = derived_sample(load_catalogue(), set(SAMPLE_PRODUCTS), before_day=int(SAMPLE_DAYS) + 1)
    catalogue_path.write_text(catalogue.model_dump_json(indent=2), encoding="utf-8")
    worlds: list[sandbox.world.SandboxWorld] = []

    class RecordedWorld(sandbox.world.SandboxWorld):
        def __enter__(self) -> sandbox.world.SandboxWorld:
            worlds.append(self)
            return super().__enter__()

    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, redirect_stdout(printed):
        patch.setattr(sandbox.world, "SandboxWorld", RecordedWorld)
        exit_code = main(
            [
                "run",
                "--catalogue", str(catalogue_path),
                "--days", str(SAMPLE_DAYS),
                "--seed", str(SAMPLE_SEED),
                "--report", str(report_path),
                "--http-log", str(http_log_path),
            ]
        )  # fmt: skip
    assert len(worlds) == 1
    return CliRun(
        exit_code=exit_code,
        catalogue_path=catalogue_path,
        printed=printed.getvalue(),
        report_path=report_path,
        report=json.loads(report_path.read_text(encoding="utf-8")),
        http_log_path=http_log_path,
        secret_values=tuple(worlds[0].secret_values.values()),
        megaphone_requests=len(worlds[0].megaphone.received),
    )


# ------------------------------------------------------------------ branded audio (issue 9)
@pytest.fixture(scope="session")
def branded() -> "BrandedRun":
    """The sample's branded part run fault-free (tests/e2e/branded_runs.py): the branded end-to-end
    test reads it, and the branded fault test compares its faulted twin with it."""
    from tests.e2e.branded_runs import run_branded

    return run_branded()


if TYPE_CHECKING:
    from tests.e2e.branded_runs import BrandedRun

"""The project's copies of the Spotify for Creators response schemas equal `../shared/specs/spotify-creators/`,
and the simulator's bodies validate against every schema it claims (checked per response inside the
simulator; here for the files themselves)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

PROJECT_COPIES = Path(__file__).parents[2] / "sandbox" / "specs" / "spotify-creators"
SHARED = Path(__file__).parents[2].parent / "shared" / "specs" / "spotify-creators"


@pytest.mark.skipif(not SHARED.exists(), reason=f"the shared Creators schemas are not present at {SHARED} (../shared/specs is outside the project; CI has it)")
def test_project_copies_equal_the_shared_schemas() -> None:
    shared = sorted(p.name for p in SHARED.glob("*.json"))
    copies = sorted(p.name for p in PROJECT_COPIES.glob("*.json"))
    assert copies == shared
    for name in shared:
        assert json.loads((PROJECT_COPIES / name).read_text()) == json.loads((SHARED / name).read_text()), name


@pytest.mark.parametrize("path", sorted(PROJECT_COPIES.glob("*.json")), ids=lambda p: p.name)
def test_each_copy_is_a_valid_json_schema(path: Path) -> None:
    jsonschema.Draft202012Validator.check_schema(json.loads(path.read_text()))

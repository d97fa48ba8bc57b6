"""The project's copy of the Spotify Ads API v3 contract held against Spotify's full OpenAPI document.

`sandbox/specs/spotify-ads-v3.subset.openapi.yml` is what the Ads simulator validates every request and
response against. It must be a faithful excerpt of `../shared/specs/spotify/ads-api-v3.openapi.yml`:
every operation, component and top-level item in it identical to the source's, nothing referenced
missing, and exactly what `sandbox/specs/trim_openapi.py` cuts from the source today.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.specs import trim_openapi
from sandbox.specs.trim_openapi import HTTP_METHODS, OPERATIONS, load, local_refs, ref_parts, render, trim

REPO_ROOT = Path(__file__).parents[2]
SHARED_SPEC = REPO_ROOT.parent / "shared/specs/spotify/ads-api-v3.openapi.yml"
PROJECT_COPY = REPO_ROOT / "sandbox/specs/spotify-ads-v3.subset.openapi.yml"
needs_shared_spec = pytest.mark.skipif(
    not SHARED_SPEC.exists(),
    reason=f"Spotify's Ads API OpenAPI document is not present at {SHARED_SPEC} "
    "(../shared/specs is outside the project; CI has it)",
)


@pytest.fixture(scope="module")
def project() -> dict[str, Any]:
    return load(PROJECT_COPY)


@pytest.fixture(scope="module")
def shared() -> dict[str, Any]:
    return load(SHARED_SPEC)


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for template, item in document["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield template, method, item[method]


def test_the_copy_holds_exactly_the_operations_the_project_uses(project):
    held = {(template, method) for template, method, _ in operations(project)}
    assert held == {(template, method) for template, methods in OPERATIONS.items() for method in methods}


def test_every_reference_in_the_copy_resolves_inside_it(project):
    for ref in set(local_refs(project)):
        target: Any = project
        for part in ref_parts(ref):
            assert isinstance(target, dict) and part in target, f"{ref} is referenced but not in the project copy"
            target = target[part]


def test_the_copy_names_its_source_and_licence():
    header = PROJECT_COPY.read_text(encoding="utf-8").split("\nopenapi:", 1)[0]
    assert "shared/specs/spotify/ads-api-v3.openapi.yml" in header
    assert "Apache License 2.0" in header
    assert "trim_openapi" in header


@needs_shared_spec
def test_every_operation_is_identical_to_the_source(project, shared):
    for template, method, operation in operations(project):
        assert operation == shared["paths"][template][method], f"{method.upper()} {template} differs from the source"
    for template, item in project["paths"].items():
        extras = {key: value for key, value in item.items() if key not in HTTP_METHODS}
        assert extras == {key: value for key, value in shared["paths"][template].items() if key not in HTTP_METHODS}


@needs_shared_spec
def test_every_component_is_identical_to_the_source(project, shared):
    compared = 0
    for section, items in project["components"].items():
        for name, value in items.items():
            assert name in shared["components"][section], f"components/{section}/{name} is not in the source"
            assert value == shared["components"][section][name], f"components/{section}/{name} differs from the source"
            compared += 1
    assert compared > 150  # the schemas reached from the operations, transitively


@needs_shared_spec
def test_top_level_items_are_identical_to_the_source(project, shared):
    for key in ("openapi", "info", "servers", "security"):
        assert project[key] == shared[key]
    source_tags = {tag["name"]: tag for tag in shared["tags"]}
    assert all(tag == source_tags[tag["name"]] for tag in project["tags"])


@needs_shared_spec
def test_the_copy_is_what_the_trim_script_cuts_today():
    fresh = render(trim(load(SHARED_SPEC)), SHARED_SPEC.read_bytes(), "shared/specs/spotify/ads-api-v3.openapi.yml")
    assert PROJECT_COPY.read_text(encoding="utf-8") == fresh, "regenerate with `python -m sandbox.specs.trim_openapi`"
    assert trim_openapi.main(["--check", "--source", str(SHARED_SPEC), "--output", str(PROJECT_COPY)]) == 0

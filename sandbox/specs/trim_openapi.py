"""Cut the project's copy of the Spotify Ads API v3 contract out of Spotify's full OpenAPI document.

`python -m sandbox.specs.trim_openapi [--source FILE] [--output FILE] [--check]`

The full document (`../shared/specs/spotify/ads-api-v3.openapi.yml`, ~400 kB, Apache-2.0) describes far
more than the project touches. The simulator validates every request and response against the subset
written here: only the operations in `OPERATIONS`, plus every component they reference, transitively,
copied unchanged. Nothing is edited, so `tests/conformance/test_spotify_ads_conformance.py` can prove the
copy identical to the source, item by item. `--check` exits 1 when the committed copy differs from a fresh
cut (e.g. after someone edited it by hand or the source moved on).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCE = REPO_ROOT.parent / "shared/specs/spotify/ads-api-v3.openapi.yml"
OUTPUT = Path(__file__).resolve().parent / "spotify-ads-v3.subset.openapi.yml"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# The operations the project uses (path template → methods), and why.
OPERATIONS: Mapping[str, tuple[str, ...]] = {
    # the ad account the integration works in (currency, status)
    "/ad_accounts/{ad_account_id}": ("get",),
    # live entities: look-ups by name after an ambiguous answer, reads, pause/archive by PATCH
    "/ad_accounts/{ad_account_id}/campaigns": ("get", "post"),
    "/ad_accounts/{ad_account_id}/campaigns/{campaign_id}": ("get", "patch"),
    "/ad_accounts/{ad_account_id}/ad_sets": ("get", "post"),
    "/ad_accounts/{ad_account_id}/ad_sets/{ad_set_id}": ("get", "patch"),
    "/ad_accounts/{ad_account_id}/ads": ("get", "post"),
    "/ad_accounts/{ad_account_id}/ads/{ad_id}": ("get", "patch"),
    # the draft hierarchy, its VALIDATE/PUBLISH action (POST on the draft campaign) and draft deletes
    "/ad_accounts/{ad_account_id}/drafts/campaigns": ("get", "post"),
    "/ad_accounts/{ad_account_id}/drafts/campaigns/{draft_campaign_id}": ("get", "patch", "post", "delete"),
    "/ad_accounts/{ad_account_id}/drafts/ad_sets": ("get", "post"),
    "/ad_accounts/{ad_account_id}/drafts/ad_sets/{draft_ad_set_id}": ("get", "patch", "delete"),
    "/ad_accounts/{ad_account_id}/drafts/ads": ("get", "post"),
    "/ad_accounts/{ad_account_id}/drafts/ads/{draft_ad_id}": ("get", "patch", "delete"),
    # creatives: create, small-file upload, poll until READY, look up by name
    "/ad_accounts/{ad_account_id}/assets": ("get", "post"),
    "/ad_accounts/{ad_account_id}/assets/{asset_id}": ("get",),
    "/ad_accounts/{ad_account_id}/assets/{asset_id}/upload": ("post",),
    # reporting (issue 12): daily aggregate reports paged by continuation token
    "/ad_accounts/{ad_account_id}/aggregate_reports": ("get",),
    # targeting look-ups: podcast episode topics and geo ids
    "/targets/episode_topics": ("get",),
    "/targets/geos": ("get",),
}


def load(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def local_refs(node: Any) -> Iterator[str]:
    """Every `$ref` below `node` (the document only uses local `#/...` references)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from local_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from local_refs(item)


def ref_parts(ref: str) -> tuple[str, ...]:
    if not ref.startswith("#/"):
        raise ValueError(f"only local references are supported: {ref}")
    return tuple(part.replace("~1", "/").replace("~0", "~") for part in ref[2:].split("/"))


def resolve_ref(spec: Mapping[str, Any], ref: str) -> Any:
    target: Any = spec
    for part in ref_parts(ref):
        target = target[part]
    return target


def trim(spec: Mapping[str, Any], operations: Mapping[str, tuple[str, ...]] = OPERATIONS) -> dict[str, Any]:
    """The subset: the chosen operations, their tags and security schemes, and every component they
    reach through `$ref`, each copied as it is in `spec`."""
    paths: dict[str, Any] = {}
    for template, methods in operations.items():
        item = spec["paths"][template]
        missing = [method for method in methods if method not in item]
        if missing:
            raise KeyError(f"{template} has no {missing} in the source document")
        paths[template] = {key: value for key, value in item.items() if key not in HTTP_METHODS or key in methods}

    reached: set[tuple[str, ...]] = set()
    pending = list(local_refs(paths))
    while pending:
        parts = ref_parts(pending.pop())
        if parts in reached:
            continue
        reached.add(parts)
        pending.extend(local_refs(resolve_ref(spec, "#/" + "/".join(parts))))

    components: dict[str, dict[str, Any]] = {}
    for section, items in spec["components"].items():
        if section == "securitySchemes":
            components[section] = dict(items)  # the document-wide `security` names them
            continue
        kept = {name: value for name, value in items.items() if ("components", section, name) in reached}
        if kept:
            components[section] = kept
    unknown = {parts for parts in reached if parts[0] != "components" or len(parts) != 3}
    if unknown:
        raise ValueError(f"references outside components/<section>/<name>: {sorted(unknown)}")

    used_tags = {
        tag for item in paths.values() for method in HTTP_METHODS if method in item for tag in item[method].get("tags", [])
    }
    document: dict[str, Any] = {}
    for key, value in spec.items():
        if key == "paths":
            document[key] = paths
        elif key == "components":
            document[key] = components
        elif key == "tags":
            document[key] = [tag for tag in value if tag["name"] in used_tags]
        else:
            document[key] = value
    return document


def render(document: Mapping[str, Any], source_text: bytes, source_name: str) -> str:
    digest = hashlib.sha256(source_text).hexdigest()
    header = (
        "# The project's copy of the Spotify Ads API v3 contract: the operations it uses and every schema\n"
        "# they reference, copied unchanged from Spotify's OpenAPI document.\n"
        f"# Source: {source_name} (sha256 {digest}),\n"
        "#   = spotify/ads-agentic-tools skills/api-reference/references/external-v3.yaml.\n"
        "# Licence of the source document: Apache License 2.0 (Spotify AB); this file is a derived excerpt.\n"
        "# Generated by `python -m sandbox.specs.trim_openapi`; do not edit by hand\n"
        "# (tests/conformance/test_spotify_ads_conformance.py compares it with the source).\n"
    )
    body = yaml.dump(
        dict(document), Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False, allow_unicode=True, width=120
    )
    return header + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.specs.trim_openapi", description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE, help="Spotify's full Ads API OpenAPI document")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="where the project's subset goes")
    parser.add_argument("--check", action="store_true", help="exit 1 when the output differs from a fresh cut")
    args = parser.parse_args(argv)
    if not args.source.exists():
        parser.error(f"source document not found: {args.source}")
    source_text = args.source.read_bytes()
    text = render(trim(load(args.source)), source_text, "shared/specs/spotify/ads-api-v3.openapi.yml")
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} differs from a fresh cut of {args.source}", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({len(text.encode())} bytes, {sum(len(m) for m in OPERATIONS.values())} operations)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The report's `promotion` section: the author playlists as Spotify holds them (with their episodes'
titles), what the integration recorded for each, and the promo briefs written."""

from __future__ import annotations

from typing import Any

from functions.flows.promo_briefs.listing import brief_listing, contributor_names
from functions.state.ledger import SyncLedger
from functions.state.targets import AUTHOR_PLAYLIST, CONTRIBUTOR_SOURCE
from sandbox.world import SandboxWorld


def promotion_section(world: SandboxWorld, ledger: SyncLedger) -> dict[str, Any]:
    names = contributor_names(ledger)
    promotable = sorted(e.key.number for e in ledger.scan(CONTRIBUTOR_SOURCE) if e.state.contributor and e.state.contributor.promotable)
    titles = {episode.id: episode.name for episode in world.spotify.episodes.values()}
    on_spotify = {p["id"]: p for p in world.spotify.playlists.state()}
    playlists = []
    for entry in sorted(ledger.scan(AUTHOR_PLAYLIST), key=lambda e: e.key.number):
        held = on_spotify.get(entry.state.playlist_id or "")
        playlists.append(
            {
                "contributor_id": entry.key.number,
                "contributor": names.get(entry.key.number),
                "status": str(entry.status),
                "playlist_id": entry.state.playlist_id,
                "url": entry.state.url,
                "recreated": entry.state.recreated,
                "findings": [f.model_dump(mode="json") for f in entry.findings],
                "on_spotify": None
                if held is None
                else {
                    "name": held["name"],
                    "description": held["description"],
                    "public": held["public"],
                    "cover": held["cover"],
                    "in_owner_library": held["in_owner_library"],
                    "items": [{"uri": uri, "title": titles.get(uri.rsplit(":", 1)[-1])} for uri in held["items"]],
                },
            }
        )
    briefs = [{k: v for k, v in row.items() if k != "link"} for row in brief_listing(ledger)]
    notes = [n for n in world.consonance.notes_written if "promo-briefs-contributor-" in n.internal_markdown.split("\n", 1)[0]]
    return {
        "promotable_contributors": [{"id": c, "name": names.get(c)} for c in promotable],
        "playlists": playlists,
        "playlists_on_spotify": len(on_spotify),
        "spotify_requests": dict(sorted(world.spotify.playlists.requests_by_operation.items())),
        "briefs": briefs,
        "brief_notes_written": len(notes),
    }


def promotion_summary(section: dict[str, Any]) -> list[str]:
    lines = [f"Promotion: {len(section['promotable_contributors'])} promotable contributors, {len(section['playlists'])} author playlists, {len(section['briefs'])} promo briefs"]
    for playlist in section["playlists"]:
        held = playlist["on_spotify"] or {}
        extra = f", made again {playlist['recreated']}x" if playlist["recreated"] else ""
        lines.append(f"  {str(playlist['contributor'])[:28]:<28} {playlist['status']:<12} {len(held.get('items', [])):>3} episodes{extra}  {held.get('name', '')}")
    for brief in section["briefs"]:
        lines.append(f"  brief: {str(brief['contributor'])[:28]:<28} {brief['campaign'][:50]:<50} {brief['starts_on']} -> {brief['ends_on']}")
    return lines

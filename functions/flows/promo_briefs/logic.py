"""Promo briefs per contributor and campaign, regenerated when an input changes and not otherwise.

Woken by what can change a brief's inputs: a contributor's verified details (`ContributorChanged`), their
author playlist (`AuthorPlaylistChanged`), or an operator asking for a brief over dates of their choice
(`PromoBriefRequested`, from `python -m infra.ops promo brief`). For a promotable contributor:

1. The campaigns: each of their books' publication (Consonance's publication date; marketing milestones
   are not available to this flow, so the publication date stands for the campaign), within the
   policy's window, and every operator campaign asked for before (kept in the ledger).
2. Each brief's data is built (`brief.py`) and hashed; only a brief whose inputs hash differs from the one
   recorded in the ledger (target `promo-briefs`) is rendered and stored (Markdown and JSON in the
   documents bucket, `DocumentStore`, which itself writes nothing for unchanged content).
3. An internal note on each related work — every book a brief lists — records the contributor's briefs
   with their links (`write_internal_notes`: one note per contributor per work, updated in place,
   unchanged = no write).

Show links: the Spotify show of a series is found once, through one of its episodes (`GET /episodes/{id}`
with the app's token), and kept in the ledger (target `spotify-show`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from functions.clock import today
from functions.connectors.spotify_web import SpotifyWebClient
from functions.consonance_writes import ConsonanceWriteback, InternalNote
from functions.domain.contributors import Contributor
from functions.domain.events import AuthorPlaylistChanged, ContributorChanged, DomainEvent, PromoBriefRequested
from functions.domain.promotion_policy import PromotionPolicy
from functions.flows.promo_briefs.brief import PromoBrief, build_brief, operator_campaign, publication_campaigns, render_markdown
from functions.state.documents import DocumentStore
from functions.state.keys import contributor_key, series_key, work_key
from functions.state.ledger import SyncLedger, new_entry
from functions.state.targets import (
    AUTHOR_PLAYLIST,
    CONTRIBUTOR_SOURCE,
    PROMO_BRIEFS,
    SPOTIFY_SHOW,
    AuthorPlaylistState,
    BriefRecord,
    BriefStatus,
)

NOTE_PURPOSE = "promo-briefs-contributor-{contributor_id}"


@dataclass
class BriefDeps:
    ledger: SyncLedger
    documents: DocumentStore
    writeback: ConsonanceWriteback
    spotify: SpotifyWebClient
    policy: PromotionPolicy
    market: str  # where show links are looked up


@dataclass
class BriefOutcome:
    contributor_id: int
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    notes_on_works: list[int] = field(default_factory=list)


def handle_brief_event(event: DomainEvent, deps: BriefDeps) -> BriefOutcome | None:
    contributor_id = _contributor_id(event)
    source = deps.ledger.get(contributor_key(contributor_id), CONTRIBUTOR_SOURCE)
    contributor = source.state.contributor if source is not None else None
    if isinstance(event, ContributorChanged) and (source is None or source.source_hash == event.previous_hash):
        contributor = event.contributor  # the poller announces before it records: the event is the newer
    if contributor is None or not contributor.promotable:
        return None  # briefs already made are kept; none are made for someone not approved
    entry = deps.ledger.get_or_new(contributor_key(contributor_id), PROMO_BRIEFS)
    if isinstance(event, PromoBriefRequested):
        campaign = operator_campaign(event.starts_on, event.ends_on, event.label)
        entry.state.requested[campaign.campaign_id] = campaign
        entry.record("brief_requested", f"{campaign.label} ({campaign.starts_on} to {campaign.ends_on})")
    playlist_entry = deps.ledger.get(contributor_key(contributor_id), AUTHOR_PLAYLIST)
    playlist = playlist_entry.state if playlist_entry is not None and playlist_entry.state.playlist_id else None
    show_links = _show_links(playlist, deps)
    outcome = BriefOutcome(contributor_id=contributor_id)
    campaigns = {c.campaign_id: c for c in publication_campaigns(contributor, today(), deps.policy)} | entry.state.requested
    briefs: dict[str, PromoBrief] = {}
    for campaign_id, campaign in sorted(campaigns.items()):
        brief = build_brief(contributor, campaign, playlist, show_links, deps.policy)
        briefs[campaign_id] = brief
        data = brief.model_dump(mode="json")
        inputs_hash = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:32]
        recorded = entry.state.briefs.get(campaign_id)
        if recorded is not None and recorded.inputs_hash == inputs_hash:
            outcome.unchanged.append(campaign_id)
            continue
        key = f"{deps.policy.brief_documents_prefix}/contributor-{contributor_id}/{campaign_id}"
        stored = deps.documents.put(key, render_markdown(brief), {"kind": "promo-brief", **data})
        entry.state.briefs[campaign_id] = BriefRecord(campaign=campaign, inputs_hash=inputs_hash, document_key=key, link=stored.link)
        entry.record("brief_written", f"{campaign.label}: {key}")
        outcome.written.append(campaign_id)
    outcome.notes_on_works = _record_notes(contributor, entry.state.briefs, briefs, deps)
    entry.set_status(BriefStatus.CURRENT, f"{len(entry.state.briefs)} briefs")
    deps.ledger.save(entry)
    return outcome


def _contributor_id(event: DomainEvent) -> int:
    if isinstance(event, ContributorChanged):
        return event.contributor.contributor_id
    if isinstance(event, (AuthorPlaylistChanged, PromoBriefRequested)):
        return event.contributor_id
    raise TypeError(f"promo briefs do not handle {type(event).__name__}")


def _show_links(playlist: AuthorPlaylistState | None, deps: BriefDeps) -> dict[int, str]:
    """Series id → its Spotify show's link, for the series of the playlist's episodes."""
    if playlist is None:
        return {}
    first_episode: dict[int, str] = {}
    for episode in playlist.episodes:
        if episode.series_id is not None:
            first_episode.setdefault(episode.series_id, episode.spotify_id)
    known = deps.ledger.get_many([series_key(s) for s in first_episode], SPOTIFY_SHOW)
    links: dict[int, str] = {}
    for series_id, spotify_id in sorted(first_episode.items()):
        entry = known.get(series_key(series_id)) or new_entry(series_key(series_id), SPOTIFY_SHOW)
        if entry.state.url is None:
            found = deps.spotify.episode(spotify_id, deps.market)
            if found is None:
                continue  # not offered there (yet): the brief says the link is not known
            entry.state.show_id, entry.state.url = found.show.id, f"https://open.spotify.com/show/{found.show.id}"
            entry.record("show_found", found.show.name)
            deps.ledger.save(entry)
        links[series_id] = entry.state.url
    return links


def _record_notes(contributor: Contributor, records: dict[str, BriefRecord], briefs: dict[str, PromoBrief], deps: BriefDeps) -> list[int]:
    """One internal note per related work listing the contributor's briefs that name it."""
    by_work: dict[int, list[tuple[BriefRecord, PromoBrief]]] = {}
    for campaign_id, brief in briefs.items():
        for book in brief.books:
            by_work.setdefault(book.work_id, []).append((records[campaign_id], brief))
    books = {book.work_id: book for book in contributor.books}
    notes = [
        InternalNote(
            key=work_key(work_id),
            purpose=NOTE_PURPOSE.format(contributor_id=contributor.contributor_id),
            work_id=work_id,
            markdown=_note_markdown(contributor, listed),
            product_ids=books[work_id].product_ids if work_id in books else (),
        )
        for work_id, listed in sorted(by_work.items())
    ]
    failures = [outcome for outcome in deps.writeback.write_internal_notes(notes) if outcome is not None]
    if failures:
        raise failures[0]  # typed by the write-back service: permanent (rejected) or transient
    return [note.work_id for note in notes]


def _note_markdown(contributor: Contributor, listed: list[tuple[BriefRecord, PromoBrief]]) -> str:
    lines = [f"**Promo briefs for {contributor.name}** (generated from verified Consonance data)", ""]
    for record, brief in sorted(listed, key=lambda item: item[0].campaign.starts_on):
        campaign = record.campaign
        lines.append(f"- {campaign.label}, {campaign.starts_on.isoformat()} to {campaign.ends_on.isoformat()}: {record.link}")
        if brief.playlist_url:
            lines.append(f"  - Author playlist on Spotify: {brief.playlist_url}")
    return "\n".join(lines)

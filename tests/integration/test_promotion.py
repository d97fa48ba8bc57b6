"""Contributor promotion on the sandbox world: the publishing flows deliver episodes, the contributor
poller reads Consonance, author playlists live on the publisher's Spotify account (authorised at the
world's start through the consent page) and promo briefs land in the documents bucket and Consonance.

One small catalogue: an approved author with an HTML bio and a 6 MB PNG headshot (four serial episodes
and a forthcoming book), an approved narrator without a headshot who also presents an interview, and an
unapproved guest. Scheduled handlers are also invoked directly, on a clock moved by hand, so the calls a
single run makes can be counted.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import boto3
import pytest
from PIL import Image

from functions.flow_names import FlowName
from functions.domain.events import ContributorChanged
from functions.state.availability import AvailabilityStore, transition
from functions.state import ledger as ledger_module
from functions.state.keys import contributor_key, episode_key, parse_entity_key
from functions.state.ledger import TargetView
from functions.state.targets import AUTHOR_PLAYLIST, CONTRIBUTOR_SOURCE, MEGAPHONE, PROMO_BRIEFS, PlaylistStatus
from infra.flows import Bucket, Table, flow
from infra.ops.__main__ import main as ops_main
from sandbox.catalogue import ContributionEntry, MediaFileEntry, ProductEntry, SpotifyAccountEntry, SupportingResourceEntry, WorkEntry
from sandbox.world import SandboxWorld
from tests.integration.harness import PUBLISHING_FLOWS, ledger, open_world, put_event, scheduled_event
from tests.recorded_requests import ExchangeLog, recording_requests
from tests.integration.small_catalogue import AUTHOR, GUEST, NARRATOR, START, SmallCatalogue

PROMOTION_FLOWS = tuple(flow(name) for name in (FlowName.CONTRIBUTOR_POLLER, FlowName.AUTHOR_PLAYLISTS, FlowName.PROMO_BRIEFS))
SERIAL = (101, 102, 103, 104)
INTERVIEW = 201
BOOK_WORK, BOOK = 9000, 9001
HEADSHOT = "https://images.example.test/people/imogen-thale.png"


def catalogue() -> Any:
    made = SmallCatalogue()
    made.show(1, "The Salt Road")
    for number, product_id in enumerate(SERIAL, start=1):
        made.episode(product_id, 1, str(number), f"Chapter {number}", START - timedelta(days=40 - 7 * number))
    made.show(2, "Conversations", kind="author_interview")
    made.episode(
        INTERVIEW,
        2,
        "1",
        "Priya Castellane on writing the sea",
        START - timedelta(days=3),
        contributions=[ContributionEntry(contributor_id=GUEST.id, role="E09", sequence=1), ContributionEntry(contributor_id=NARRATOR.id, role="E10", sequence=2)],
    )
    built = made.build()
    book = WorkEntry(
        id=BOOK_WORK,
        title="The Salt Road: The Complete Voyage",
        work_type="novel",
        bics=["FA", "FJ"],
        supporting_resources=[
            SupportingResourceEntry(id=90001, variant="cover_image", url="https://media.example.test/art/complete.jpg"),
            SupportingResourceEntry(id=90002, variant="author_photo", url=HEADSHOT, caption="Imogen Thale at Whitby", status="approved", copyright="Photo © Ana Ferreira"),
        ],
    )
    ebook = ProductEntry(
        id=BOOK,
        type="ElectronicBookProduct",
        work_id=BOOK_WORK,
        title="The Salt Road: The Complete Voyage",
        publishing_status="02",
        planned_publication_date=START + timedelta(days=30),
        contributions=[ContributionEntry(contributor_id=AUTHOR.id, role="A01", sequence=1)],
        description="<p>All the parts in one volume.</p>",
    )
    return built.model_copy(
        update={
            "contributors": [
                AUTHOR.model_copy(update={"biographical_note": "<p>Imogen Thale writes about <em>the coast</em>.</p><script>x()</script>", "contact_tags": ["approved-for-promotion"]}),
                NARRATOR.model_copy(update={"biographical_note": "Tobias Wren is an actor and narrator from Leeds.", "contact_tags": ["approved-for-promotion"]}),
                GUEST.model_copy(update={"biographical_note": "A guest.", "contact_tags": ["guest"]}),
            ],
            "works": [*built.works, book],
            "products": [*built.products, ebook],
            "spotify_accounts": [SpotifyAccountEntry(account="publisher", user_id="larkspur-vine", display_name="Larkspur & Vine Audio")],
            "media": [MediaFileEntry(url=HEADSHOT, image_format="PNG", width=3000, height=3000, grain=3)],
        }
    )


@pytest.fixture(scope="module")
def world() -> Iterator[SandboxWorld]:
    with open_world(catalogue(), flows=PUBLISHING_FLOWS + PROMOTION_FLOWS) as opened:
        opened.run_for(days=3 / 24)  # delivered, polled, playlists made, briefs written
        yield opened


def run_playlists(world: SandboxWorld) -> tuple[dict[str, Any], ExchangeLog]:
    with recording_requests() as log:
        outcome = world.runtime.invoke(FlowName.AUTHOR_PLAYLISTS, scheduled_event(world, FlowName.AUTHOR_PLAYLISTS))
    return outcome, log


def poll_contributors(world: SandboxWorld) -> dict[str, Any]:
    outcome: dict[str, Any] = world.runtime.invoke(FlowName.CONTRIBUTOR_POLLER, scheduled_event(world, FlowName.CONTRIBUTOR_POLLER))
    return outcome


def spotify_calls(log: ExchangeLog) -> list[str]:
    return [f"{e.method} {e.url.split('/v1', 1)[-1].split('?')[0]}" for e in log.of("spotify-web")] + [f"token {e.method}" for e in log.of("spotify-accounts")]


def playlist_of(world: SandboxWorld, contributor_id: int) -> dict[str, Any]:
    entry = ledger(world).get(contributor_key(contributor_id), AUTHOR_PLAYLIST)
    assert entry is not None and entry.state.playlist_id
    return next(p for p in world.spotify.playlists.state() if p["id"] == entry.state.playlist_id)


def spotify_ids(world: SandboxWorld, *product_ids: int) -> list[str]:
    return [f"spotify:episode:{ledger(world).get(episode_key(p), MEGAPHONE).state.spotify_id}" for p in product_ids]  # type: ignore[union-attr]


# ------------------------------------------------------------------------------------------ playlists
def test_each_promotable_author_has_one_playlist_of_their_episodes_in_release_order(world: SandboxWorld) -> None:
    author, narrator = playlist_of(world, AUTHOR.id), playlist_of(world, NARRATOR.id)
    assert author["items"] == spotify_ids(world, *SERIAL)
    assert narrator["items"] == spotify_ids(world, *SERIAL, INTERVIEW)  # the serial they read, then the interview they present
    assert author["name"] == "Imogen Thale: interviews, readings and series"
    assert author["description"] == "Imogen Thale writes about the coast."  # plain text from the HTML bio
    assert author["owner"] == "larkspur-vine" and author["public"]
    assert ledger(world).get(contributor_key(GUEST.id), AUTHOR_PLAYLIST) is None  # not approved: no playlist
    assert len(world.spotify.playlists.playlists) == 2


def test_the_huge_png_headshot_became_a_jpeg_cover_under_256_kb(world: SandboxWorld) -> None:
    cover = world.spotify.playlists.playlists[playlist_of(world, AUTHOR.id)["id"]].cover
    assert cover is not None and len(base64.b64encode(cover)) <= 256 * 1024
    assert Image.open(io.BytesIO(cover)).format == "JPEG"
    assert playlist_of(world, NARRATOR.id)["cover"] is None  # no headshot: no cover, and a finding
    source = ledger(world).get(contributor_key(NARRATOR.id), CONTRIBUTOR_SOURCE)
    assert source is not None and [f.code for f in source.findings] == ["promotion_without_headshot"]


def test_an_unchanged_run_calls_spotify_not_at_all(world: SandboxWorld) -> None:
    outcome, log = run_playlists(world)
    assert spotify_calls(log) == [] and log.of("media") == []
    assert outcome["unchanged"] == 2 and not outcome["library_read"]


def test_a_bio_change_is_one_read_and_one_write(world: SandboxWorld) -> None:
    author = next(c for c in world.consonance.catalogue.contributors if c.id == AUTHOR.id)
    author.biographical_note, author.changed_on = "<p>Imogen Thale writes about <b>harbours</b>.</p>", world.clock.now().date()
    assert poll_contributors(world)["announced"] == [AUTHOR.id]
    _, log = run_playlists(world)
    api = [call for call in spotify_calls(log) if not call.startswith("token")]
    assert api == ["GET /me/playlists", f"PUT /playlists/{playlist_of(world, AUTHOR.id)['id']}"]
    assert len(spotify_calls(log)) <= 4
    assert playlist_of(world, AUTHOR.id)["description"] == "Imogen Thale writes about harbours."
    assert log.of("media") == []  # the headshot did not change: not fetched again


def test_the_same_image_under_a_new_url_is_fetched_but_not_uploaded_again(world: SandboxWorld) -> None:
    host = world.media.host_of(HEADSHOT)
    moved = host.put("people/imogen-thale-2.png", world.media.file(HEADSHOT))
    work = next(w for w in world.consonance.catalogue.works if w.id == BOOK_WORK)
    work.supporting_resources[1].url, work.changed_on = moved, world.clock.now().date()
    poll_contributors(world)
    _, log = run_playlists(world)
    assert [e.url for e in log.of("media")] == [moved]
    assert not [call for call in spotify_calls(log) if call.endswith("/images")]


def test_an_episode_withdrawn_or_taken_down_leaves_every_playlist_within_one_run(world: SandboxWorld) -> None:
    product = next(p for p in world.consonance.catalogue.products if p.id == SERIAL[1])
    product.publishing_status, product.changed_on = "07", world.clock.now().date()  # out of print: withdrawn
    store = AvailabilityStore(world.resources.tables[Table.AVAILABILITY])  # a takedown the recorder wrote
    store.put(
        transition(None, entity=episode_key(SERIAL[2]), channel="spotify", territory="GB", live=False, reason="takedown on Spotify", taken_down=True, source="monitor", observed_at=world.clock.now())
    )
    world.run_for(days=1 / 24)  # the poller and the publisher withdraw it, then one playlist run
    assert playlist_of(world, AUTHOR.id)["items"] == spotify_ids(world, SERIAL[0], SERIAL[3])
    assert playlist_of(world, NARRATOR.id)["items"] == spotify_ids(world, SERIAL[0], SERIAL[3], INTERVIEW)


def test_a_playlist_deleted_on_spotify_is_made_again_once_and_reported(world: SandboxWorld) -> None:
    deleted = playlist_of(world, NARRATOR.id)["id"]
    world.spotify.playlists.unfollow_by_owner(deleted)
    world.clock.advance(25 * 3600)  # the daily library check is due, though nothing else changed
    outcome, _ = run_playlists(world)
    assert outcome["recreated"] == [NARRATOR.id] and outcome["library_read"]
    again = playlist_of(world, NARRATOR.id)
    assert again["id"] != deleted and again["items"] == spotify_ids(world, SERIAL[0], SERIAL[3], INTERVIEW)
    entry = ledger(world).get(contributor_key(NARRATOR.id), AUTHOR_PLAYLIST)
    assert entry is not None and entry.state.recreated == 1 and entry.status is PlaylistStatus.CURRENT
    assert [f.code for f in entry.findings] == ["playlist_recreated"]
    assert [alert for alert in world.alerts.received() if f"author playlist {deleted} was no longer in" in alert]
    outcome, _ = run_playlists(world)
    assert outcome["recreated"] == [] and len([p for p in world.spotify.playlists.owned_by("larkspur-vine") if p.followed_by_owner]) == 2


# ------------------------------------------------------------------------------------------ briefs
def documents(world: SandboxWorld) -> dict[str, dict[str, Any]]:
    s3, bucket = boto3.client("s3"), world.resources.buckets[Bucket.DOCUMENTS]
    found = {}
    for item in s3.list_objects_v2(Bucket=bucket, Prefix="promo-briefs/").get("Contents", []):
        if item["Key"].endswith(".json"):
            found[item["Key"]] = json.loads(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
    return found


def test_a_brief_per_contributor_and_campaign_is_stored_and_noted_on_each_related_work(world: SandboxWorld) -> None:
    world.run_for(days=1 / 24)
    briefs = documents(world)
    key = f"promo-briefs/contributor-{AUTHOR.id}/publication-{BOOK_WORK}.json"
    assert set(briefs) == {key}  # the narrator is credited on no book: no publication campaign
    brief = briefs[key]
    assert brief["campaign"]["starts_on"] == (START + timedelta(days=30 - 42)).isoformat()
    assert brief["headshot"]["credit_line"] == "Photo © Ana Ferreira" and brief["headshot"]["url"].endswith("imogen-thale-2.png")
    assert brief["playlist_url"] == f"https://open.spotify.com/playlist/{playlist_of(world, AUTHOR.id)['id']}"
    assert [s["name"] for s in brief["shows"]] == ["The Salt Road"] and brief["shows"][0]["url"].startswith("https://open.spotify.com/show/")
    assert [t["topic"] for t in brief["interview_topics"]] == ["modern and contemporary fiction", "adventure"]
    notes = [n for n in world.consonance.notes_written if n.work_id == BOOK_WORK]
    assert notes and f"promo-briefs-contributor-{AUTHOR.id}" in notes[-1].internal_markdown


def test_a_brief_is_regenerated_only_when_an_input_changes(world: SandboxWorld) -> None:
    s3, bucket = boto3.client("s3"), world.resources.buckets[Bucket.DOCUMENTS]
    key = f"promo-briefs/contributor-{AUTHOR.id}/publication-{BOOK_WORK}.md"
    written = s3.head_object(Bucket=bucket, Key=key)["LastModified"]
    notes_before = len(world.consonance.notes_written)
    entry = ledger(world).get(contributor_key(AUTHOR.id), CONTRIBUTOR_SOURCE)
    assert entry is not None and entry.state.contributor is not None
    put_event(world, ContributorChanged(contributor=entry.state.contributor, content_hash=entry.source_hash or "", previous_hash=entry.source_hash))
    world.run_for(days=1 / 24 / 6)
    assert s3.head_object(Bucket=bucket, Key=key)["LastModified"] == written and len(world.consonance.notes_written) == notes_before
    promo = ledger(world).get(contributor_key(AUTHOR.id), PROMO_BRIEFS)
    assert promo is not None and len(promo.state.briefs) == 1


def test_an_operator_asks_for_a_brief_over_their_dates_and_lists_every_brief(world: SandboxWorld, capsys: pytest.CaptureFixture[str]) -> None:
    arguments = ["--prefix", world.resources.prefix, "promo", "brief", "--contributor", str(NARRATOR.id), "--from", "2027-05-01", "--to", "2027-05-31", "--label", "Audio festival"]
    assert ops_main(arguments) == 0
    world.run_for(days=1 / 24 / 6)
    out = io.StringIO()
    assert ops_main(["--prefix", world.resources.prefix, "promo", "briefs", "--json"], stdout=out) == 0
    listed = json.loads(out.getvalue())
    assert {(row["contributor_id"], row["campaign"]) for row in listed} >= {
        (AUTHOR.id, "Publication of The Salt Road: The Complete Voyage"),
        (NARRATOR.id, "Audio festival"),
    }
    assert ops_main(["--prefix", world.resources.prefix, "promo", "brief", "--contributor", str(GUEST.id), "--from", "2027-05-01", "--to", "2027-05-31"]) != 0


def test_a_contributor_no_longer_approved_keeps_the_playlist_but_private(world: SandboxWorld) -> None:
    narrator = next(c for c in world.consonance.catalogue.contributors if c.id == NARRATOR.id)
    narrator.contact_tags, narrator.changed_on = ["narrator"], world.clock.now().date()
    assert poll_contributors(world)["announced"] == [NARRATOR.id]  # announced: they were promotable until now
    outcome, log = run_playlists(world)
    assert outcome["archived"] == [NARRATOR.id]
    playlist = playlist_of(world, NARRATOR.id)
    assert playlist["public"] is False and playlist["in_owner_library"] and playlist["items"]  # kept, not emptied, not deleted
    assert [call for call in spotify_calls(log) if call.startswith("PUT")] == [f"PUT /playlists/{playlist['id']}"]
    entry = ledger(world).get(contributor_key(NARRATOR.id), AUTHOR_PLAYLIST)
    assert entry is not None and entry.status is PlaylistStatus.ARCHIVED
    assert run_playlists(world)[0]["archived"] == []  # once


# ------------------------------------------------------------------------------------------ reads
@dataclass
class PlaylistReads:
    """The playlist items the ledger parsed: (contributor id, the item's attributes as read)."""

    items: list[tuple[int, frozenset[str]]] = field(default_factory=list)

    def whole(self) -> set[int]:
        """The entries read whole: with their history."""
        return {number for number, attributes in self.items if "history" in attributes}

    def viewed(self) -> set[int]:
        return {number for number, attributes in self.items if "history" not in attributes}


@pytest.fixture
def playlist_reads(monkeypatch: pytest.MonkeyPatch) -> PlaylistReads:
    """Every playlist item the ledger parses from here on, whole (`_entry`) or as a view (`TargetView.read`)."""
    reads = PlaylistReads()
    whole, view = ledger_module._entry, TargetView.read

    def keep(item: dict[str, Any]) -> None:
        if item["sk"]["S"] == AUTHOR_PLAYLIST.name:
            reads.items.append((parse_entity_key(item["pk"]["S"]).number, frozenset(item)))

    def read_whole(item: dict[str, Any], target: Any) -> Any:
        keep(item)
        return whole(item, target)

    def read_view(self: TargetView[Any], item: dict[str, Any]) -> Any:
        keep(item)
        return view(self, item)

    monkeypatch.setattr(ledger_module, "_entry", read_whole)
    monkeypatch.setattr(TargetView, "read", read_view)
    return reads


def test_a_run_with_every_playlist_in_step_reads_no_playlist_entry_whole(world: SandboxWorld, playlist_reads: PlaylistReads) -> None:
    outcome, _ = run_playlists(world)
    assert outcome["unchanged"] == 1 and outcome["archived"] == [] and outcome["failed"] == {}
    assert playlist_reads.viewed() == {AUTHOR.id} and playlist_reads.whole() == set()  # the archived narrator's is not read at all


def test_a_playlist_to_change_is_read_whole_and_saved_with_its_history(world: SandboxWorld, playlist_reads: PlaylistReads) -> None:
    before = ledger(world).get(contributor_key(AUTHOR.id), AUTHOR_PLAYLIST)
    author = next(c for c in world.consonance.catalogue.contributors if c.id == AUTHOR.id)
    author.biographical_note, author.changed_on = "<p>Imogen Thale writes about islands.</p>", world.clock.now().date()
    assert poll_contributors(world)["announced"] == [AUTHOR.id]
    playlist_reads.items.clear()  # what the run reads, not the test
    outcome, _ = run_playlists(world)
    assert outcome["details_updated"] == [AUTHOR.id] and playlist_reads.whole() == {AUTHOR.id}
    after = ledger(world).get(contributor_key(AUTHOR.id), AUTHOR_PLAYLIST)
    assert before is not None and after is not None and after.version == before.version + 1
    assert after.history[-1].action == "details_updated" and after.history[-2] == before.history[-1]  # the history read, kept
    assert after.state.episodes == before.state.episodes and after.state.cover_sha256 == before.state.cover_sha256
    assert playlist_of(world, AUTHOR.id)["description"] == "Imogen Thale writes about islands."

"""Promo briefs as data and Markdown: campaigns from publication dates or an operator's dates, verified
sources only, the campaign's title first, topics from subject codes, and what is missing said plainly."""

from __future__ import annotations

import json
from datetime import date

from functions.domain.contributors import Book, Contributor, Headshot
from functions.domain.promotion_policy import PromotionPolicy
from functions.flows.promo_briefs.brief import build_brief, operator_campaign, publication_campaigns, render_markdown
from functions.state.targets import AuthorPlaylistState, PlaylistEpisode

POLICY = PromotionPolicy(campaign_lookback_days=30, campaign_lookahead_days=120, campaign_lead_days=42, campaign_tail_days=28)
TODAY = date(2026, 12, 1)
ASHBY = Contributor(
    contributor_id=504,
    name="Rowan Ashby",
    bio="Rowan Ashby is the author of the Ember Court novels. " * 60,
    promotable=True,
    headshot=Headshot(resource_id=8402, work_id=3302, url="https://images.example/rowan.jpg", caption="Rowan Ashby at the launch", credit="Photo © Callum Reid"),
    books=(
        Book(work_id=3302, title="The Ash Crown", roles=("A01",), description="The second novel. " * 40, publication_date=date(2027, 2, 4), subjects=("FM", "FIC009000"), cover_url="https://x/ash.jpg"),
        Book(work_id=3301, title="The Ember Court", roles=("A01",), description="The first novel.", publication_date=date(2026, 3, 12), subjects=("FM", "XYZ")),
        Book(work_id=3300, title="An Early Pamphlet", roles=("B06",), publication_date=date(2026, 11, 20)),
    ),
)
PLAYLIST = AuthorPlaylistState(
    playlist_id="p" * 22,
    url="https://open.spotify.com/playlist/" + "p" * 22,
    episodes=[
        PlaylistEpisode(product_id=1, spotify_id="a" * 22, title="Welcome", series_id=9102, show="Inside the Ember Court"),
        PlaylistEpisode(product_id=2, spotify_id="b" * 22, title="Who is the Ash Regent?", series_id=9102, show="Inside the Ember Court"),
    ],
)


def test_publication_campaigns_cover_books_published_in_the_window() -> None:
    campaigns = publication_campaigns(ASHBY, TODAY, POLICY)
    assert [(c.campaign_id, c.starts_on, c.ends_on) for c in campaigns] == [
        ("publication-3302", date(2026, 12, 24), date(2027, 3, 4)),  # 65 days ahead
        ("publication-3300", date(2026, 10, 9), date(2026, 12, 18)),  # 11 days ago
    ]  # The Ember Court (March 2026) is backlist: no campaign


def test_a_brief_holds_verified_details_with_the_campaigns_title_first() -> None:
    campaign = publication_campaigns(ASHBY, TODAY, POLICY)[0]
    brief = build_brief(ASHBY, campaign, PLAYLIST, {9102: "https://open.spotify.com/show/s"}, POLICY)
    assert [b.title for b in brief.books] == ["The Ash Crown", "The Ember Court", "An Early Pamphlet"]
    assert brief.books[2].roles == ("translator",)
    assert len(brief.bio) <= POLICY.brief_bio_limit and brief.bio.endswith("…")
    assert len(brief.books[0].description) <= POLICY.brief_description_limit
    assert brief.headshot is not None and brief.headshot.credit_line == "Photo © Callum Reid"
    assert [(s.name, s.url, s.episodes) for s in brief.shows] == [("Inside the Ember Court", "https://open.spotify.com/show/s", 2)]
    assert [(t.topic, t.subject_codes) for t in brief.interview_topics] == [
        ("fantasy", ("FM", "FIC009000")),
        ("subject XYZ", ("XYZ",)),
    ]
    assert brief.notes == ()
    json.dumps(brief.model_dump(mode="json"))  # the JSON document is plain data


def test_the_markdown_says_what_is_missing() -> None:
    bare = ASHBY.model_copy(update={"headshot": None, "books": ()})
    brief = build_brief(bare, operator_campaign(date(2027, 5, 1), date(2027, 5, 31), "Edinburgh book festival"), None, {}, POLICY)
    text = render_markdown(brief)
    assert "# Promo brief: Rowan Ashby" in text and "**Dates:** 2027-05-01 to 2027-05-31" in text
    assert "_No approved headshot._" in text and "_Nothing live on Spotify yet._" in text
    assert "No author playlist yet" in text and brief.campaign.campaign_id == "dates-2027-05-01-2027-05-31"


def test_equal_inputs_give_equal_documents() -> None:
    campaign = publication_campaigns(ASHBY, TODAY, POLICY)[0]
    first = build_brief(ASHBY, campaign, PLAYLIST, {}, POLICY)
    second = build_brief(ASHBY, campaign, PLAYLIST, {}, POLICY)
    assert first == second and render_markdown(first) == render_markdown(second)

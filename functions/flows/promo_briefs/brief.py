"""A promo brief: everything a publicist needs to pitch a contributor for one campaign, from verified
sources only — the contributor's bio and approved headshot (Consonance), their books with short
descriptions and covers (Consonance), the campaign's dates, their author playlist and the Spotify shows
they are heard on (this integration), and interview topics suggested by the books' subject codes.

`build_brief` makes the data (the JSON a machine reads); `render_markdown` the same for people. Both are
pure, so equal inputs give equal documents and the document store writes nothing when nothing changed.
"""

from __future__ import annotations

from datetime import date, timedelta

from pydantic import BaseModel, ConfigDict, Field

from functions.domain.contributors import Book, Contributor
from functions.domain.promotion_policy import PromotionPolicy
from functions.domain.validation import truncate_at_word
from functions.state.targets import AuthorPlaylistState, BriefCampaign

# ONIX list 17, the roles a promotion names
ROLE_NAMES: dict[str, str] = {
    "A01": "author",
    "A12": "illustrator",
    "B06": "translator",
    "E03": "narrator",
    "E07": "reader",
    "E09": "speaker",
    "E10": "presenter",
}


class BriefModel(BaseModel):
    model_config = ConfigDict(frozen=True)


class BriefHeadshot(BriefModel):
    url: str
    caption: str
    credit_line: str | None = None


class BriefBook(BriefModel):
    work_id: int
    title: str
    roles: tuple[str, ...]
    description: str
    cover_url: str | None = None
    publication_date: date | None = None


class BriefShow(BriefModel):
    name: str
    url: str | None = None
    episodes: int


class BriefTopic(BriefModel):
    topic: str
    subject_codes: tuple[str, ...]
    from_titles: tuple[str, ...]


class PromoBrief(BriefModel):
    contributor_id: int
    name: str
    bio: str
    headshot: BriefHeadshot | None = None
    campaign: BriefCampaign
    books: tuple[BriefBook, ...] = ()
    playlist_url: str | None = None
    playlist_episodes: int = 0
    shows: tuple[BriefShow, ...] = ()
    interview_topics: tuple[BriefTopic, ...] = ()
    notes: tuple[str, ...] = Field(default=())  # what is missing, said plainly (no headshot, no playlist yet)


def publication_campaigns(contributor: Contributor, today: date, policy: PromotionPolicy) -> list[BriefCampaign]:
    """A campaign per book published from `campaign_lookback_days` ago to `campaign_lookahead_days`
    ahead: its publication date (Consonance), from `campaign_lead_days` before to `campaign_tail_days` after."""
    earliest, latest = today - timedelta(days=policy.campaign_lookback_days), today + timedelta(days=policy.campaign_lookahead_days)
    return [
        BriefCampaign(
            campaign_id=f"publication-{book.work_id}",
            label=f"Publication of {book.title}",
            starts_on=book.publication_date - timedelta(days=policy.campaign_lead_days),
            ends_on=book.publication_date + timedelta(days=policy.campaign_tail_days),
            work_id=book.work_id,
        )
        for book in contributor.books
        if book.publication_date is not None and earliest <= book.publication_date <= latest
    ]


def operator_campaign(starts_on: date, ends_on: date, label: str) -> BriefCampaign:
    return BriefCampaign(
        campaign_id=f"dates-{starts_on.isoformat()}-{ends_on.isoformat()}",
        label=label.strip() or f"Campaign {starts_on.isoformat()} to {ends_on.isoformat()}",
        starts_on=starts_on,
        ends_on=ends_on,
    )


def build_brief(
    contributor: Contributor,
    campaign: BriefCampaign,
    playlist: AuthorPlaylistState | None,
    show_links: dict[int, str],
    policy: PromotionPolicy,
) -> PromoBrief:
    books = _books_for(contributor, campaign, policy)
    shows: dict[str, tuple[int | None, int]] = {}
    for episode in playlist.episodes if playlist else []:
        if episode.show:
            series, count = shows.get(episode.show, (episode.series_id, 0))
            shows[episode.show] = (series, count + 1)
    headshot = contributor.headshot
    notes = []
    if headshot is None:
        notes.append("No approved headshot names this contributor: ask for one before pitching photo-led coverage.")
    if playlist is None or not playlist.url:
        notes.append("No author playlist yet: nothing of theirs is live on Spotify.")
    return PromoBrief(
        contributor_id=contributor.contributor_id,
        name=contributor.name,
        bio=contributor.bio_within(policy.brief_bio_limit),
        headshot=BriefHeadshot(url=headshot.url, caption=headshot.caption, credit_line=headshot.credit) if headshot else None,
        campaign=campaign,
        books=tuple(
            BriefBook(
                work_id=book.work_id,
                title=book.title,
                roles=tuple(ROLE_NAMES.get(role, role) for role in book.roles),
                description=truncate_at_word(book.description, policy.brief_description_limit),
                cover_url=book.cover_url,
                publication_date=book.publication_date,
            )
            for book in books
        ),
        playlist_url=playlist.url if playlist else None,
        playlist_episodes=len(playlist.episodes) if playlist else 0,
        shows=tuple(
            BriefShow(name=name, url=show_links.get(series) if series is not None else None, episodes=count)
            for name, (series, count) in sorted(shows.items())
        ),
        interview_topics=_topics(books, policy),
        notes=tuple(notes),
    )


def _books_for(contributor: Contributor, campaign: BriefCampaign, policy: PromotionPolicy) -> list[Book]:
    """The campaign's title first, then their other books, newest first."""
    first = [b for b in contributor.books if b.work_id == campaign.work_id]
    rest = [b for b in contributor.books if b.work_id != campaign.work_id]
    return (first + rest)[: policy.brief_max_books]


def _topics(books: list[Book], policy: PromotionPolicy) -> tuple[BriefTopic, ...]:
    topics: dict[str, tuple[list[str], list[str]]] = {}
    for book in books:
        for code in book.subjects:
            label = policy.subject_topics.get(code, f"subject {code}")
            codes, titles = topics.setdefault(label, ([], []))
            if code not in codes:
                codes.append(code)
            if book.title not in titles:
                titles.append(book.title)
    return tuple(
        BriefTopic(topic=label, subject_codes=tuple(codes), from_titles=tuple(titles)) for label, (codes, titles) in topics.items()
    )[: policy.brief_max_topics]


def render_markdown(brief: PromoBrief) -> str:
    campaign = brief.campaign
    lines = [
        f"# Promo brief: {brief.name}",
        "",
        f"**Campaign:** {campaign.label}  ",
        f"**Dates:** {campaign.starts_on.isoformat()} to {campaign.ends_on.isoformat()}",
        "",
        "## Bio (verified in Consonance)",
        "",
        brief.bio or "_No biographical note in Consonance._",
        "",
        "## Headshot",
        "",
    ]
    if brief.headshot:
        lines += [f"[{brief.headshot.caption or 'Headshot'}]({brief.headshot.url})", ""]
        lines += [f"Credit: {brief.headshot.credit_line}", ""] if brief.headshot.credit_line else ["Credit: _none given in Consonance_", ""]
    else:
        lines += ["_No approved headshot._", ""]
    lines += ["## Books", ""]
    for book in brief.books:
        published = f", published {book.publication_date.isoformat()}" if book.publication_date else ""
        lines.append(f"### {book.title}")
        lines.append(f"_{', '.join(book.roles) or 'contributor'}{published}_")
        lines.append("")
        if book.description:
            lines += [book.description, ""]
        if book.cover_url:
            lines += [f"Cover: {book.cover_url}", ""]
    if not brief.books:
        lines += ["_No books in Consonance credit this contributor._", ""]
    lines += ["## Listen on Spotify", ""]
    if brief.playlist_url:
        lines.append(f"- Author playlist ({brief.playlist_episodes} episodes): {brief.playlist_url}")
    for show in brief.shows:
        lines.append(f"- {show.name} ({show.episodes} episodes): {show.url or '_link not known yet_'}")
    if not brief.playlist_url and not brief.shows:
        lines.append("_Nothing live on Spotify yet._")
    lines += ["", "## Suggested interview topics", ""]
    for topic in brief.interview_topics:
        lines.append(f"- {topic.topic.capitalize()} — from _{'_, _'.join(topic.from_titles)}_ ({', '.join(topic.subject_codes)})")
    if not brief.interview_topics:
        lines.append("_No subject codes on their books._")
    if brief.notes:
        lines += ["", "## Before pitching", ""] + [f"- {note}" for note in brief.notes]
    return "\n".join(lines).rstrip() + "\n"

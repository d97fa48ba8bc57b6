"""The analytics dimensions, built each night from the sync ledger and Consonance.

Facts carry the sources' own ids; the dimensions say what they stand for. From the ledger: every
audio product the poller saw (its work, show, credits, release date) and where it went (Megaphone
podcast and episode, Spotify episode). From Consonance (`ConsonanceClient.analytics_works`): each
work's title, series, credits, main subject and products with their dates.

Rules (documented choices, see README "Listening analytics"):
- **Main subject** (the genre group): the work's main Thema code, else its main BISAC code.
- **The launch an audio work is compared against** (`TitleDimension.publication_date`): the
  publication of the work's own book (its earliest dated book product, `analyticsBookProductTypes`); else, when its
  series is configured with related books (`analyticsRelatedBooks`: a companion podcast and the
  novels it accompanies), the related book published nearest the audio's release; else the audio's
  own release (a serial's part is its own launch). A book without `publicationDate` counts with its
  `plannedPublicationDate`.
- **Authors** are the work's contributors with an author role (`analyticsAuthorRoles`, default A01);
  an audio work whose launch is a related book also counts towards that book's authors.
- **Spotify shows**: only the opted-in Creators shows are known by id (`creatorsShows`: show ->
  series), which is all the Creators facts need; Megaphone podcasts and episodes come from the ledger.
- **Milestones** (campaign windows) are the title milestones the campaign flows recorded (the nightly
  flow reads them from the ledger: `functions.flows.analytics_nightly.logic.title_milestones`). They
  belong to a marketed title, usually a book: a milestone stands beside every audio work whose own
  work is that title or whose launch is that title's book, so a novel's pre-order campaign is marked
  on its companion podcast's launch comparison; a milestone of a title with no such audio is left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from functions.analytics.facts import ContributorDimension, Dimensions, EpisodeDimension, MilestoneDimension, TitleDimension
from functions.connectors.consonance.records import AnalyticsWorkRecord
from functions.domain.models import Episode
from functions.state.targets import MegaphoneState

SUBJECT_PREFERENCE = ("Thema", "BISAC")


@dataclass(frozen=True)
class AudioProduct:
    """What the ledger knows of one audio product: the poller's view and its Megaphone delivery."""

    episode: Episode
    delivery: MegaphoneState | None = None


@dataclass(frozen=True)
class Launch:
    day: date
    book_product_id: int | None  # None: the audio's own release
    book_work_id: int | None


def book_dates(work: AnalyticsWorkRecord, book_types: frozenset[str]) -> list[tuple[date, int]]:
    """(date, product id) of the work's dated book products, earliest first."""
    return sorted(
        (product.publication_date or product.planned_publication_date, product.id)  # type: ignore[misc]
        for product in work.products
        if product.typename in book_types and (product.publication_date or product.planned_publication_date)
    )


def launch_of(
    work: AnalyticsWorkRecord | None,
    release: date | None,
    related: Sequence[AnalyticsWorkRecord],
    book_types: frozenset[str],
) -> Launch | None:
    """The launch an audio work is compared against (see the module docstring)."""
    own = book_dates(work, book_types) if work is not None else []
    if own:
        return Launch(own[0][0], own[0][1], work.id if work is not None else None)
    candidates = [(day, product, book.id) for book in related for day, product in book_dates(book, book_types)[:1]]
    if candidates:
        anchor = release or min(day for day, _, _ in candidates)
        day, product, book = min(candidates, key=lambda c: (abs((c[0] - anchor).days), c[0]))
        return Launch(day, product, book)
    return Launch(release, None, None) if release is not None else None


def main_subject(work: AnalyticsWorkRecord | None) -> tuple[str, str, str | None] | None:
    """(scheme THEMA|BISAC, code, label) of the work's main subject, Thema first."""
    if work is None:
        return None
    for typename in SUBJECT_PREFERENCE:
        for subject in work.subject_codes:
            if subject.main and subject.typename == typename:
                return ("THEMA" if typename == "Thema" else "BISAC", subject.code, subject.description)
    return None


def works_to_read(products: Iterable[AudioProduct], related_books: Mapping[str, Sequence[int]]) -> list[int]:
    """Every work the dimensions need from Consonance: the audio works and their series' related books."""
    wanted: dict[int, None] = {}
    for product in products:
        if product.episode.work_id is not None:
            wanted[product.episode.work_id] = None
        series = product.episode.show.series_id if product.episode.show else None
        for book in related_books.get(str(series), ()) if series is not None else ():
            wanted[book] = None
    return list(wanted)


def build_dimensions(
    products: Sequence[AudioProduct],
    works: Mapping[int, AnalyticsWorkRecord],
    *,
    related_books: Mapping[str, Sequence[int]],
    creators_shows: Mapping[str, int],
    author_roles: Sequence[str],
    book_types: Sequence[str],
    milestones: Sequence[MilestoneDimension] = (),
) -> Dimensions:
    books = frozenset(book_types)
    show_of_series = {series: show for show, series in sorted(creators_shows.items())}
    titles: dict[str, TitleDimension] = {}
    launched_with: dict[str, int | None] = {}  # audio work -> the book work whose launch it is compared with
    episodes: list[EpisodeDimension] = []
    contributors: dict[tuple[str, str, str], ContributorDimension] = {}
    for product in sorted(products, key=lambda p: p.episode.product_id):
        episode, delivery = product.episode, product.delivery
        if episode.work_id is None:
            continue  # the poller could not place it; it has a finding of its own
        work = works.get(episode.work_id)
        membership = next((m.series for m in work.series_memberships if m.series and m.series.id is not None), None) if work else None
        series_id = episode.show.series_id if episode.show else (membership.id if membership else None)
        series_name = episode.show.name if episode.show else (membership.name if membership else None)
        work_key = str(episode.work_id)
        if work_key not in titles:
            related = [works[book] for book in related_books.get(str(series_id), ()) if book in works] if series_id is not None else []
            launch = launch_of(work, episode.release_date, related, books)
            launched_with[work_key] = launch.book_work_id if launch else None
            subject = main_subject(work)
            titles[work_key] = TitleDimension(
                work_id=work_key,
                title=(work.title if work and work.title else episode.title),
                series_id=str(series_id) if series_id is not None else None,
                series_name=series_name,
                main_subject_scheme=subject[0] if subject else None,  # type: ignore[arg-type]
                main_subject_code=subject[1] if subject else None,
                main_subject_label=subject[2] if subject else None,
                publication_date=launch.day if launch else None,
                book_product_id=str(launch.book_product_id) if launch and launch.book_product_id else None,
            )
            credited = list(work.contributions) if work else []
            book = works.get(launch.book_work_id) if launch and launch.book_work_id not in (None, episode.work_id) else None
            if book is not None:
                credited += [c for c in book.contributions if c.role_code in author_roles]
            for credit in credited:
                row = ContributorDimension(
                    work_id=work_key,
                    contributor_id=str(credit.contributor.id),
                    contributor_name=credit.contributor.name or f"contributor {credit.contributor.id}",
                    role_code=credit.role_code,
                    sequence_number=credit.sequence_number,
                )
                contributors.setdefault((work_key, row.contributor_id, row.role_code), row)
            if not credited:  # no work-level credits: the product's own
                for product_credit in episode.credits:
                    row = ContributorDimension(
                        work_id=work_key,
                        contributor_id=str(product_credit.contributor_id),
                        contributor_name=product_credit.name,
                        role_code=product_credit.role_code,
                        sequence_number=product_credit.sequence,
                    )
                    contributors.setdefault((work_key, row.contributor_id, row.role_code), row)
        spotify_episode = delivery.spotify_id if delivery else None
        episodes.append(
            EpisodeDimension(
                product_id=str(episode.product_id),
                work_id=work_key,
                episode_title=episode.title,
                series_id=str(series_id) if series_id is not None else None,
                megaphone_podcast_id=delivery.podcast_id if delivery else None,
                megaphone_episode_id=delivery.episode_id if delivery else None,
                spotify_show_id=show_of_series.get(series_id) if series_id is not None and spotify_episode else None,
                spotify_episode_id=spotify_episode,
                release_date=episode.release_date,
            )
        )
    return Dimensions(
        titles=tuple(titles.values()),
        episodes=tuple(episodes),
        contributors=tuple(contributors.values()),
        milestones=milestones_beside_audio(milestones, launched_with),
    )


def milestones_beside_audio(milestones: Sequence[MilestoneDimension], launched_with: Mapping[str, int | None]) -> tuple[MilestoneDimension, ...]:
    """Each title milestone once for every audio work it stands beside: the audio of that very work, and
    the audio whose launch is that work's book (see the module docstring); the others are left out."""
    rows: dict[tuple[str, date, str, str], MilestoneDimension] = {}
    for milestone in milestones:
        for audio_work, book_work in launched_with.items():
            if milestone.work_id == audio_work or (book_work is not None and milestone.work_id == str(book_work)):
                key = (audio_work, milestone.milestone_date, milestone.milestone, milestone.campaign_id or "")
                rows.setdefault(key, milestone.model_copy(update={"work_id": audio_work}))
    return tuple(rows[key] for key in sorted(rows))

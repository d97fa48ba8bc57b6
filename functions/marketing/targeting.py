"""The audience segment of a title, derived from its Consonance data through a lookup table that is
data (`rules/targeting.json`, overridable with the `marketing.targeting` setting):

- subject codes (Thema, BISAC, BIC) → Spotify podcast-episode topics and the reader-facing genre,
  by the longest code prefix the table knows (the main subject first, then the others);
- audience codes (ONIX list 28) → age ranges; without audience codes, the age ranges the matched
  subjects carry (young-adult and children's subjects do);
- sales territories ∩ the countries the Ads account may target → one ad set per country (the Ads
  API's geo target is one country), in the configured priority order, at most `max_countries`.

Nothing is guessed: a title whose subjects match no topic, whose audience has no age range, or which
is on sale in no targetable country gets a finding naming what was missing, and no campaign.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from functions.domain.marketing import MarketedTitle, SubjectCode
from functions.domain.models import Frozen
from functions.domain.territories import KNOWN_TERRITORIES

# The podcast episode topics the Ads API v3 spec lists for `targets.podcast_episode_topic_ids`.
PODCAST_EPISODE_TOPICS: frozenset[str] = frozenset(
    {
        "automotive", "books-and-literature", "business-and-finance", "careers", "education",
        "events-and-attractions", "family-and-relationships", "fine-art", "food-and-drink", "healthy-living",
        "hobbies-and-interests", "home-and-garden", "medical-health", "movies", "music-and-audio",
        "news-and-politics", "personal-finance", "pets", "pop-culture", "real-estate",
        "religion-and-spirituality", "science", "shopping", "sports", "style-and-fashion",
        "technology-and-computing", "television", "travel", "video-gaming",
    }
)  # fmt: skip


class AgeRange(Frozen):
    """The Ads API's age range: 13 to 99 (its schema's bounds)."""

    min: int = Field(ge=13, le=99)
    max: int = Field(default=99, ge=13, le=99)

    @model_validator(mode="after")
    def _ordered(self) -> AgeRange:
        if self.min > self.max:
            raise ValueError(f"age range {self.min}-{self.max}: min is above max")
        return self

    def text(self) -> str:
        return f"{self.min}+" if self.max == 99 else f"{self.min}–{self.max}"


class SubjectTargeting(Frozen):
    """One row of the subject table: codes of `scheme` starting with `prefix`."""

    scheme: str = Field(pattern=r"^(THEMA|BISAC|BIC)$")
    prefix: str = Field(min_length=1, max_length=12)
    genre: str = Field(min_length=1, max_length=60)
    topics: tuple[str, ...] = Field(min_length=1)
    genre_ids: tuple[str, ...] = ()  # Spotify genre ids (GET /targets/genres), when the publisher wants them
    age_ranges: tuple[AgeRange, ...] = ()  # for subjects that say who reads them (young adult, children's)

    @model_validator(mode="after")
    def _known_topics(self) -> SubjectTargeting:
        if unknown := sorted(set(self.topics) - PODCAST_EPISODE_TOPICS):
            raise ValueError(f"{self.scheme} {self.prefix}: not podcast episode topics of the Ads API: {unknown}")
        return self

    def matches(self, subject: SubjectCode) -> bool:
        return subject.scheme == self.scheme and subject.code.upper().startswith(self.prefix.upper())


class AudienceTargeting(Frozen):
    code: str = Field(pattern=r"^\d{2}$")  # ONIX list 28
    label: str
    age_ranges: tuple[AgeRange, ...] = Field(min_length=1)


class TargetingTable(Frozen):
    subjects: tuple[SubjectTargeting, ...] = Field(min_length=1)
    audiences: tuple[AudienceTargeting, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> TargetingTable:
        keys = [(row.scheme, row.prefix.upper()) for row in self.subjects]
        if duplicates := sorted({k for k in keys if keys.count(k) > 1}):
            raise ValueError(f"subject prefixes listed twice: {duplicates}")
        codes = [row.code for row in self.audiences]
        if duplicates_codes := sorted({c for c in codes if codes.count(c) > 1}):
            raise ValueError(f"audience codes listed twice: {duplicates_codes}")
        return self

    def subject_row(self, subject: SubjectCode) -> SubjectTargeting | None:
        """The row with the longest prefix matching the code (the most specific one)."""
        rows = [row for row in self.subjects if row.matches(subject)]
        return max(rows, key=lambda row: len(row.prefix), default=None)

    def audience_row(self, code: str) -> AudienceTargeting | None:
        return next((row for row in self.audiences if row.code == code), None)


class CountryChoice(Frozen):
    """Which countries a campaign may target, in priority order (the Ads account's targetable ones)."""

    countries: tuple[str, ...] = Field(min_length=1)
    max_countries: int = Field(default=3, ge=1, le=20)

    @model_validator(mode="after")
    def _codes(self) -> CountryChoice:
        if unknown := sorted(set(self.countries) - KNOWN_TERRITORIES):
            raise ValueError(f"not ISO 3166-1 alpha-2 codes: {unknown}")
        return self


class Segment(Frozen):
    """Who a title's campaign speaks to, and why (each line of `reasons` names the Consonance code that led to it)."""

    topics: tuple[str, ...]
    genre: str
    genre_ids: tuple[str, ...] = ()
    age_ranges: tuple[AgeRange, ...]
    countries: tuple[str, ...]
    reasons: tuple[str, ...]
    left_out: tuple[str, ...] = ()  # what the campaign does not cover, and why


class SegmentProblem(Frozen):
    code: str
    message: str


def derive_segment(title: MarketedTitle, table: TargetingTable, choice: CountryChoice) -> Segment | list[SegmentProblem]:
    problems: list[SegmentProblem] = []
    reasons: list[str] = []
    topics: list[str] = []
    genre_ids: list[str] = []
    genre: str | None = None
    subject_ages: list[AgeRange] = []
    unmatched: list[str] = []
    ordered = sorted(title.subjects, key=lambda s: not s.main)  # the main subject first
    for subject in ordered:
        row = table.subject_row(subject)
        label = f"{subject.scheme} {subject.code}" + (" (main)" if subject.main else "")
        if row is None:
            unmatched.append(label)
            continue
        genre = genre or row.genre
        topics += [t for t in row.topics if t not in topics]
        genre_ids += [g for g in row.genre_ids if g not in genre_ids]
        subject_ages += [a for a in row.age_ranges if a not in subject_ages]
        reasons.append(f"{label} → topics {', '.join(row.topics)}; genre {row.genre}")
    if not title.subjects:
        problems.append(SegmentProblem(code="segment_no_subjects", message="the work has no subject codes (Thema/BISAC) to derive topics from"))
    elif not topics:
        problems.append(SegmentProblem(code="segment_no_topic", message=f"no podcast episode topic for the subjects {', '.join(unmatched)}; add them to the targeting table or target by hand"))

    ages: list[AgeRange] = []
    unknown_audiences: list[str] = []
    for code in title.audience_codes:
        audience = table.audience_row(code)
        if audience is None:
            unknown_audiences.append(code)
            continue
        ages += [a for a in audience.age_ranges if a not in ages]
        reasons.append(f"audience {code} ({audience.label}) → ages {', '.join(a.text() for a in audience.age_ranges)}")
    if not ages and subject_ages:
        ages = subject_ages
        reasons.append(f"no audience code with an age range: ages {', '.join(a.text() for a in ages)} from the subjects")
    if not ages:
        detail = f"audience codes {', '.join(unknown_audiences)} are not in the targeting table" if unknown_audiences else "the work has no audience code"
        problems.append(SegmentProblem(code="segment_no_age", message=f"no age range: {detail}, and no subject says who reads it"))

    on_sale = sales_countries(title)
    countries = [c for c in choice.countries if c in on_sale]
    left_out: list[str] = []
    if untargetable := sorted(on_sale - set(choice.countries)):
        more = f" and {len(untargetable) - 5} more" if len(untargetable) > 5 else ""
        left_out.append(f"{', '.join(untargetable[:5])}{more}: on sale, but not countries this Ads account targets")
    if len(countries) > choice.max_countries:
        left_out.append(f"{', '.join(countries[choice.max_countries:])}: beyond the first {choice.max_countries} countries in priority order")
        countries = countries[: choice.max_countries]
    if countries:
        reasons.append(f"sales territories ∩ targetable countries → {', '.join(countries)}")
    else:
        problems.append(SegmentProblem(code="segment_no_country", message="the title is on sale in no country this Ads account can target"))
    if problems:
        return problems
    assert genre is not None
    return Segment(
        topics=tuple(topics),
        genre=genre,
        genre_ids=tuple(genre_ids),
        age_ranges=tuple(ages),
        countries=tuple(countries),
        reasons=tuple(reasons),
        left_out=tuple(left_out),
    )


def sales_countries(title: MarketedTitle) -> set[str]:
    """The countries the title is on sale in, from its lead product's territories."""
    territories = title.territories
    base = set(KNOWN_TERRITORIES) if territories.worldwide else set(territories.included)
    return base - set(territories.excluded)

"""The milestone rule set: when a title enters pre-order, publication or backlist promotion, decided
from Consonance data only. The rules are data (`rules/milestones.json`, overridable with the
`marketing.milestones` setting) and are validated when a flow starts, so a typo stops the deployment
instead of silently never firing. README.md ("Milestone rules") documents them with examples.

A rule holds for a title when the title's publishing status is one the rule names and either
- today lies in its date window: from `opens_days` to `closes_days` (exclusive) days counted from the
  title's publication date (its planned date when Consonance has no publication date yet). A window
  with `closes_days` only starts campaigns while it is open, so deploying against an old catalogue
  does not start a campaign for every title that once crossed a milestone; or
- the work's marketing tier or season is one the rule names (a person marked it for promotion).

Once reached, a milestone stays reached: its window may move with the date (an update to the same
campaign, never a second one), and a title whose publishing status leaves `live_statuses` (cancelled,
withdrawn, out of print) cancels every milestone it reached.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Literal

from pydantic import Field, model_validator

from functions.domain.marketing import MarketedTitle, MilestoneWindow
from functions.domain.models import Frozen

MILESTONE_NAME = re.compile(r"^[a-z][a-z_]{1,29}$")
ONIX_STATUS = re.compile(r"^\d{2}$")  # ONIX list 64

# The Ads API's values for a draft campaign's `objective` (deprecated there, still required to publish),
# less UNSET (refused) and VIDEO_VIEWS (no video here).
Objective = Literal["REACH", "EVEN_IMPRESSION_DELIVERY", "CLICKS", "PODCAST_STREAMS"]
CallToAction = Literal[
    "APPLY_NOW", "BOOK_NOW", "BUY_NOW", "BUY_TICKETS", "CLICK_NOW", "DOWNLOAD", "FIND_STORES", "GET_COUPON",
    "GET_INFO", "LEARN_MORE", "LISTEN_NOW", "MORE_INFO", "ORDER_NOW", "PRE_SAVE", "SAVE_NOW", "SHARE",
    "SHOP_NOW", "SIGN_UP", "VISIT_PROFILE", "VISIT_SITE", "WATCH_NOW",
]  # fmt: skip
Placement = Literal["PODCAST", "MUSIC"]


class CampaignTemplate(Frozen):
    """What a milestone's campaign looks like: objective, copy, call to action, length and budget."""

    objective: Objective
    call_to_action: CallToAction
    # The tagline's wording, longest first; `{title}` and `{author}` are filled in and the first that
    # fits the Ads API's 40 characters is used (see `ad_copy`).
    taglines: tuple[str, ...] = Field(min_length=1)
    # With a companion podcast configured for the title, the ad promotes the show instead (Ads API
    # `PODCAST_PROMO`), with this call to action.
    promote_companion_show: bool = False
    companion_show_call_to_action: CallToAction = "LISTEN_NOW"
    companion_show_objective: Objective = "PODCAST_STREAMS"
    duration_days: int = Field(ge=1, le=365)  # the campaign's longest length
    end_at_window_close: bool = False  # pre-order: the campaign ends when the window does (at publication)
    budget_micro_amount: int = Field(gt=0)  # per ad set, LIFETIME, in the ad account's currency x 1,000,000
    placements: tuple[Placement, ...] = ("PODCAST",)

    @model_validator(mode="after")
    def _taglines_name_known_fields(self) -> CampaignTemplate:
        for tagline in self.taglines:
            unknown = set(re.findall(r"\{(\w*)\}", tagline)) - {"title", "author"}
            if unknown:
                raise ValueError(f"tagline {tagline!r} uses unknown fields {sorted(unknown)}; use {{title}} and {{author}}")
        return self


class MilestoneRule(Frozen):
    milestone: str
    label: str = Field(min_length=1, max_length=40)
    statuses: frozenset[str] = Field(min_length=1)
    opens_days: int | None = None
    closes_days: int | None = None
    marketing_tiers: frozenset[str] = frozenset()
    seasons: frozenset[str] = frozenset()
    campaign: CampaignTemplate

    @model_validator(mode="after")
    def _well_formed(self) -> MilestoneRule:
        if not MILESTONE_NAME.match(self.milestone):
            raise ValueError(f"milestone {self.milestone!r}: lower-case letters and '_', 2 to 30 characters (it is part of ledger keys and Ads names)")
        if bad := sorted(s for s in self.statuses if not ONIX_STATUS.match(s)):
            raise ValueError(f"milestone {self.milestone}: statuses must be ONIX list 64 codes like '02', not {bad}")
        if self.opens_days is None and self.closes_days is not None:
            raise ValueError(f"milestone {self.milestone}: closes_days needs opens_days")
        if self.opens_days is not None and self.closes_days is not None and self.closes_days <= self.opens_days:
            raise ValueError(f"milestone {self.milestone}: closes_days ({self.closes_days}) must be after opens_days ({self.opens_days})")
        if self.opens_days is None and not (self.marketing_tiers or self.seasons):
            raise ValueError(f"milestone {self.milestone}: give a date window (opens_days) or marketing_tiers/seasons, or it never opens")
        return self

    # -------------------------------------------------------------------------------- evaluation
    def dated_window(self, title: MarketedTitle) -> MilestoneWindow | None:
        """The date window for this title, wherever today is (None without a date rule or a date)."""
        anchor = title.anchor_date
        if self.opens_days is None or anchor is None:
            return None
        opens = anchor + timedelta(days=self.opens_days)
        closes = anchor + timedelta(days=self.closes_days) if self.closes_days is not None else None
        which = "publication date" if title.publication_date else "planned publication date"
        reason = f"{self.label}: {_days_text(self.opens_days)} the {which} ({anchor.isoformat()})"
        return MilestoneWindow(anchor_date=anchor, opens_on=opens, closes_on=closes, reason=reason)

    def marked_by(self, title: MarketedTitle) -> str | None:
        """Why a person's marking puts the title in this milestone (its tier or season), or None."""
        if title.marketing_tier and title.marketing_tier in self.marketing_tiers:
            return f"marketing tier {title.marketing_tier!r}"
        if title.season and title.season in self.seasons:
            return f"season {title.season!r}"
        return None

    def entered(self, title: MarketedTitle, today: date) -> MilestoneWindow | None:
        """The window when the title enters this milestone today (status allows and a window is open)."""
        if title.publishing_status_code not in self.statuses:
            return None
        dated = self.dated_window(title)
        if dated is not None and dated.opens_on <= today and (dated.closes_on is None or today < dated.closes_on):
            return dated
        marked = self.marked_by(title)
        if marked is not None:
            return MilestoneWindow(
                anchor_date=title.anchor_date, opens_on=today, closes_on=None, basis="marking", reason=f"{self.label}: {marked}"
            )
        return None

    def current_window(self, title: MarketedTitle, reached: MilestoneWindow) -> MilestoneWindow:
        """For a milestone already reached: its window as the title's dates say now (a moved date moves
        it; a title that lost its date keeps the window it had); one reached by a marking keeps the day
        it was reached."""
        if reached.basis == "date":
            return self.dated_window(title) or reached
        return reached

    def next_opening(self, title: MarketedTitle, today: date) -> date | None:
        dated = self.dated_window(title)
        return dated.opens_on if dated is not None and dated.opens_on > today else None


class MilestoneRules(Frozen):
    """The whole rule set, and what "still a live title" means."""

    rules: tuple[MilestoneRule, ...] = Field(min_length=1)
    # ONIX list 64: a title outside these (01 cancelled, 06 withdrawn, 07 out of print ...) stops its campaigns.
    live_statuses: frozenset[str] = frozenset({"02", "04"})

    @model_validator(mode="after")
    def _unique(self) -> MilestoneRules:
        names = [rule.milestone for rule in self.rules]
        if duplicates := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"milestones named twice: {duplicates}")
        return self

    def rule(self, milestone: str) -> MilestoneRule:
        for rule in self.rules:
            if rule.milestone == milestone:
                return rule
        raise KeyError(milestone)

    def is_live(self, title: MarketedTitle) -> bool:
        return title.publishing_status_code in self.live_statuses

    def next_boundary(self, title: MarketedTitle, today: date, reached: frozenset[str]) -> date | None:
        """The next day time alone (no change in Consonance) may put the title in a milestone."""
        openings = [d for rule in self.rules if rule.milestone not in reached and (d := rule.next_opening(title, today)) is not None]
        return min(openings, default=None)


def _days_text(days: int) -> str:
    if days == 0:
        return "from"
    return f"{abs(days)} days {'before' if days < 0 else 'after'}"

"""The distribution pre-flight as the publishing gate runs it, and what its verdict changes in a push.

The gate (`episode_publisher/gate.py`) runs it after the rights check and before the release step, so
a rights withdrawal wins over a pre-flight hold and no media is fetched for an episode that is not
going out. The publisher, rights sync (through the publisher's code), metadata sync and the dry run
all build the fields they push or compare through `functions.flows.preflight_fields.checked_fields`,
so "what is pushed" and "what is expected on Megaphone" never differ.

- `PreflightGate.check(episode, previous)`: the request is built from the episode and the fields the
  projection would push (the description with its credits line), and checked by
  `functions.preflight.check.check_episode`. `previous` is the result kept in the ledger: a file whose
  identity is unchanged is not fetched again. Artwork checks are also kept in memory for the
  execution environment, under the same cache key: the episodes of a series share one cover, which is
  then fetched and decoded once per warm Lambda, not once per episode.
- `StoredChecksOnly`: the dry run's media source and rendition sink: it reuses what the ledger holds
  and refuses to fetch or store (`PreflightNotChecked`), so a plan never downloads media or writes S3.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Protocol

from functions.connectors.media import FetchedMedia
from functions.domain.errors import TransientError
from functions.domain.models import Episode
from functions.flows.megaphone_projection import desired_fields
from functions.flows.publishing_config import PublishingConfig
from functions.flows.preflight_fields import PreflightProjection, RenditionLinks, SendableLinks, episode_text, same_verdict
from functions.preflight.check import MediaSource, RenditionSink, check_episode
from functions.preflight.identity import MediaIdentity
from functions.preflight.results import ArtworkCheck, PreflightRequest, PreflightResult
from functions.preflight.settings import PreflightSettings
from functions.state.renditions import rendition_reference

ARTWORK_REMEMBERED = 256  # artwork checks kept in memory per execution environment


class RenditionRepository(RenditionSink, RenditionLinks, SendableLinks, Protocol):
    """Where renditions are stored, how they are named and fetched (`functions.state.renditions.RenditionStore`)."""


class RememberedArtwork(OrderedDict[str, ArtworkCheck]):
    """Artwork checks by cache key, the least recently stored forgotten first past `limit`."""

    def __init__(self, limit: int = ARTWORK_REMEMBERED):
        super().__init__()
        self.limit = limit

    def __setitem__(self, key: str, value: ArtworkCheck) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)


@dataclass
class PreflightGate:
    media: MediaSource
    renditions: RenditionRepository
    settings: PreflightSettings
    config: PublishingConfig
    remembered: RememberedArtwork = field(default_factory=RememberedArtwork)

    @property
    def projection(self) -> PreflightProjection:
        """How its results change the fields pushed (`functions.flows.preflight_fields`)."""
        return PreflightProjection(self.renditions, self.settings)

    def check(self, episode: Episode, previous: PreflightResult | None) -> PreflightResult:
        """The episode's pre-flight; transient fetch failures propagate (the queue retries the record)."""
        result = check_episode(
            preflight_request(episode, self.config),
            media=self.media,
            renditions=self.renditions,
            settings=self.settings,
            previous=previous,
            known_artwork=self.remembered,
        )
        return previous if previous is not None and same_verdict(result, previous) else result


def preflight_request(episode: Episode, config: PublishingConfig) -> PreflightRequest:
    """What the gate knows about the episode it is about to push (the texts as the projection makes them)."""
    fields = desired_fields(episode, draft=True, settings=config)
    artwork: MediaIdentity | None = None
    if episode.artwork_url:
        facts = episode.artwork_file
        artwork = MediaIdentity(
            url=episode.artwork_url,
            size=facts.size if facts else None,
            created_at=facts.created_at.isoformat() if facts and facts.created_at else None,
            filename=facts.filename if facts else None,
        )
    master = episode.master_audio
    audio = (
        MediaIdentity(
            url=master.url,
            size=master.size,
            created_at=master.created_at.isoformat() if master.created_at else None,
            filename=master.filename,
        )
        if master is not None
        else None
    )
    return PreflightRequest(
        product_id=episode.product_id,
        text=episode_text(fields),
        artwork=artwork,
        audio=audio,
        stated_duration_seconds=episode.stated_duration_seconds,
    )


# ------------------------------------------------------------------------------------------ dry run
class PreflightNotChecked(TransientError):
    """The dry run met media the pre-flight has not checked yet: the publisher fetches it next time."""

    code = "preflight_not_checked"


class StoredChecksOnly:
    """The dry run's media source and rendition sink: only what the ledger holds is used."""

    def fetch(self, url: str, *, max_bytes: int) -> FetchedMedia:
        raise PreflightNotChecked(f"the pre-flight has not checked {url.split('?', 1)[0]} yet; the next publish fetches it")

    def put(self, content: bytes, *, content_type: str, extension: str) -> str:
        raise PreflightNotChecked("the dry run stores no rendition")

    def __init__(self, public_base_url: str | None = None):
        self.public_base_url = public_base_url

    def reference(self, key: str) -> str:
        """A kept rendition's stable name, as the deployed store names it (no bucket needed)."""
        return rendition_reference(key, self.public_base_url)

    def sendable(self, url: str) -> str:
        raise PreflightNotChecked("the dry run sends nothing")

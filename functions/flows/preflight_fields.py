"""How the pre-flight's verdict changes the fields pushed to Megaphone: the part of the pre-flight the
publisher, rights sync, metadata sync and the dry run share (no media library, no network).

- `checked_fields(fields, result, links, settings)`: the fields as the pre-flight lets them go — the
  texts sanitised and within the platforms' limits, Megaphone's explicit value, and the cover's URL
  (the rendition's when one was made, as its stable reference, never a pre-signed URL, so the field
  hash changes only when the rendition does). The texts are re-checked from the fields given (a pure
  check), so a stored result never brings back an older text; the stored artwork verdict is used only
  for the cover URL it was made for.
- `sendable_fields(fields, links)`: at the moment of a push, a rendition reference becomes the URL
  Megaphone fetches (a pre-signed URL is minted then, never stored).
- `same_verdict`: a new result that concludes what the stored one did is not written again.
- `PreflightProjection`: both, for a flow that compares and corrects what is on Megaphone (metadata
  sync) without running the pre-flight itself: the result it uses is the one the ledger keeps.

Consonance has no explicit-content field (see `functions.preflight.text`): the request says so
(`explicit=None`) and `PreflightSettings.explicit_when_unstated` decides, mapped to Megaphone's
vocabulary by `megaphone_explicit_values` (its value for a clean episode is the Megaphone setting
`megaphone_explicit_value`, see `MegaphoneSettings.preflight_rules`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from functions.connectors.megaphone import EpisodeFields
from functions.preflight.results import ArtworkStatus, EpisodeText, PreflightResult
from functions.preflight.settings import PreflightSettings
from functions.preflight.text import check_text


class RenditionLinks(Protocol):
    def reference(self, key: str) -> str:
        """The rendition's stable name (its public URL, or `rendition:<key>`)."""
        ...


class SendableLinks(Protocol):
    def sendable(self, url: str) -> str:
        """The URL to send for a field value (a rendition reference becomes a fetchable URL)."""
        ...


class RenditionNames(RenditionLinks, SendableLinks, Protocol):
    """How renditions are named and fetched (`functions.state.renditions.RenditionStore`)."""


@dataclass(frozen=True)
class PreflightProjection:
    renditions: RenditionNames
    settings: PreflightSettings

    def checked(self, fields: EpisodeFields, result: PreflightResult | None) -> EpisodeFields:
        return checked_fields(fields, result, self.renditions, self.settings)

    def sendable(self, fields: EpisodeFields) -> EpisodeFields:
        return sendable_fields(fields, self.renditions)


def same_verdict(result: PreflightResult, previous: PreflightResult) -> bool:
    """The same conclusions as the stored result, whenever each was made: nothing to write."""
    return result.model_copy(update={"checked_at": previous.checked_at}) == previous


def checked_fields(
    fields: EpisodeFields, result: PreflightResult | None, links: RenditionLinks, settings: PreflightSettings
) -> EpisodeFields:
    """The fields as the pre-flight lets them go (see the module docstring)."""
    text = check_text(episode_text(fields), product_id=int(fields.external_id), settings=settings)
    update: dict[str, object] = {
        "title": text.title,
        "subtitle": text.subtitle,
        "summary": text.description or None,
        "explicit": text.megaphone_explicit,
    }
    artwork = result.artwork if result is not None else None
    if result is not None and artwork is not None and artwork.source.url == fields.background_image_file_url:
        if artwork.verdict.status is not ArtworkStatus.HELD:
            update["background_image_file_url"] = result.artwork_url(links.reference)
    return fields.model_copy(update=update)


def sendable_fields(fields: EpisodeFields, links: SendableLinks) -> EpisodeFields:
    """The fields as they go on the wire now: a rendition reference becomes a fetchable URL."""
    image = fields.background_image_file_url
    return fields.model_copy(update={"background_image_file_url": links.sendable(image)}) if image else fields


def episode_text(fields: EpisodeFields) -> EpisodeText:
    return EpisodeText(title=fields.title, subtitle=fields.subtitle, description=fields.summary or "", explicit=None)

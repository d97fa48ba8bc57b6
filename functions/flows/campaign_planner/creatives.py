"""A title's two creatives on the Ads API — the audio spot and the square companion image made from its
cover — uploaded once per content and shared by every milestone's ad (ledger target
`spotify-ads-creatives` on the work).

Each moves through the Ads API's states: created (WAITING_UPLOAD) → uploaded (PROCESSING) → READY
(or ERROR). A file is fetched (with `MediaFetcher`: byte cap, timeouts, typed errors) only when its
asset still needs the bytes or Consonance points at another file; its content hash names the asset,
so the same file is never uploaded twice, and a changed file becomes a new asset. Readiness is
polled with one request for both assets; a creative still processing when the invocation's wait is
over leaves the record to a retry (transient), with everything done so far kept in the ledger.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from functions.clock import clock
from functions.connectors.media import MediaFetcher
from functions.connectors.spotify_ads import Asset, SpotifyAdsClient
from functions.domain.errors import TransientError
from functions.domain.marketing import MarketedTitle
from functions.flows.campaign_planner.intents import create_once
from functions.marketing.config import MarketingConfig
from functions.marketing.creatives import Creative, CreativeProblem, audio_spot, companion_image
from functions.marketing.plan import AssetIds
from functions.state.ledger import LedgerEntry, SyncLedger
from functions.state.targets import CreativeAsset, CreativesState

MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # the small-file upload's limit
READY = "READY"
FAILED = "ERROR"


class CreativesStillProcessing(TransientError):
    code = "creatives_processing"


@dataclass
class CreativeUploads:
    ads: SpotifyAdsClient
    media: MediaFetcher
    ledger: SyncLedger
    config: MarketingConfig
    first_poll_seconds: float
    poll_seconds: float
    wait_seconds: float

    def ensure(self, title: MarketedTitle, entry: LedgerEntry[CreativesState]) -> AssetIds | list[CreativeProblem]:
        """Both creatives created and uploaded (not necessarily processed yet)."""
        assert title.audio_spot is not None and title.cover_url is not None
        problems: list[CreativeProblem] = []
        sources: list[tuple[str, str, Callable[[bytes], Creative | CreativeProblem]]] = [
            ("audio", title.audio_spot.url, lambda data: audio_spot(data, self.config.max_spot_seconds)),
            ("image", title.cover_url, lambda data: companion_image(data, self.config.companion_side)),
        ]
        for role, url, make in sources:
            problem = self._ensure_one(title, entry, role, url, make)
            if problem is not None:
                problems.append(problem)
        if problems:
            return problems
        audio, image = entry.state.audio, entry.state.image
        assert audio is not None and image is not None and audio.asset_id and image.asset_id
        return AssetIds(audio=audio.asset_id, image=image.asset_id)

    def _ensure_one(
        self, title: MarketedTitle, entry: LedgerEntry[CreativesState], role: str, url: str, make: Callable[[bytes], Creative | CreativeProblem]
    ) -> CreativeProblem | None:
        record: CreativeAsset | None = getattr(entry.state, role)
        creative: Creative | None = None
        if record is None or record.source_url != url or record.status in ("creating", "WAITING_UPLOAD"):
            with self.media.fetch(url, max_bytes=MAX_UPLOAD_BYTES) as fetched:
                made = make(fetched.read())
            if isinstance(made, CreativeProblem):
                return made
            creative = made
            if record is None or record.sha256 != creative.sha256:  # a new file is a new asset
                name = f"{self.config.name_prefix}-{title.work_id}-{role}-{creative.sha256[:12]}.{creative.extension}"
                record = CreativeAsset(sha256=creative.sha256, name=name, source_url=url, detail=creative.detail)
                entry.record("creative", f"{role}: {name} from {url}")
            record.source_url = url
            setattr(entry.state, role, record)
        assert record is not None
        if record.status == FAILED:  # the same bytes would fail again: a new file is needed
            return _rejected(record)
        if record.asset_id is None:
            assert creative is not None
            name = record.name
            asset = create_once(
                entry,
                self.ledger,
                f"asset:{role}:{record.sha256[:12]}",
                create=lambda: self.ads.create_asset(creative.asset_type, name),  # type: ignore[arg-type]
                look_up=lambda: next(iter(self.ads.find_assets(name)), None),
            )
            record.asset_id, record.status = asset.id, asset.status
            self.ledger.save(entry)
        if record.status == "WAITING_UPLOAD":
            assert creative is not None
            record.status = self._upload(entry, record, creative).status
            entry.record("uploaded", f"{role}: asset {record.asset_id}")
            self.ledger.save(entry)
        return None

    def _upload(self, entry: LedgerEntry[CreativesState], record: CreativeAsset, creative: Creative) -> Asset:
        """Upload once: an intent before the upload; after an ambiguous answer or an unfinished attempt,
        the asset's status says whether the bytes arrived (uploading twice is refused by the API)."""
        asset = Asset(id=str(record.asset_id), name=record.name, asset_type=creative.asset_type, status=record.status)

        def arrived() -> Asset | None:
            shown = next(iter(self.ads.assets([asset.id])), None)
            return shown if shown is not None and shown.status != "WAITING_UPLOAD" else None

        return create_once(
            entry, self.ledger, f"upload:{record.sha256[:12]}", create=lambda: self.ads.upload_asset(asset, creative.data, creative.content_type), look_up=arrived
        )

    def wait_until_ready(self, entry: LedgerEntry[CreativesState]) -> list[CreativeProblem]:
        """Poll both creatives (one request each time) until READY; ERROR is a problem for a person."""
        records = [r for r in (entry.state.audio, entry.state.image) if r is not None]
        if all(r.status == READY for r in records):
            return []
        waited = 0.0
        pause = self.first_poll_seconds
        while any(r.status != READY for r in records):
            if any(r.status == FAILED for r in records):
                break
            if waited + pause > self.wait_seconds:
                self.ledger.save(entry)
                raise CreativesStillProcessing(f"creatives still processing after {waited:.0f} s: {', '.join(r.name for r in records if r.status != READY)}")
            clock().sleep(pause)
            waited += pause
            pause = self.poll_seconds
            shown = {asset.id: asset for asset in self.ads.assets([str(r.asset_id) for r in records if r.status != READY])}
            for record in records:
                if record.asset_id in shown:
                    record.status = shown[record.asset_id].status
        self.ledger.save(entry)
        return [_rejected(r) for r in records if r.status == FAILED]


def _rejected(record: CreativeAsset) -> CreativeProblem:
    return CreativeProblem(
        code="creative_rejected",
        message=f"the Ads API could not process {record.name} (status ERROR); a new file in Consonance is needed (Spotify's audio ad specs)",
    )

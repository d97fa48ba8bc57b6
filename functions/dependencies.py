"""The clients and repositories one flow's Lambda environment uses, built from its `FlowSettings`.

One `Dependencies` per execution environment (the flow template keeps it between invocations, as
Lambda keeps a warm environment), so a connector's token, rate limiter and HTTP connections are reused.
Each part is built on first use and imports its module then: a flow's cold start pays only for the
clients it really uses. A flow may only build what its declaration grants: asking for a table or a
connector it does not declare fails with `ConfigurationError` (the deployed function would have
neither the variable nor the permission).
"""

from __future__ import annotations

import json
import math
from functools import cached_property
from typing import TYPE_CHECKING

from functions.flow_declarations import Bucket, Secret, Table
from functions.secrets import secret_value
from functions.settings import ConfigurationError, FlowSettings

if TYPE_CHECKING:
    from functions.alerts import AlertPublisher
    from functions.analytics.athena_runner import AthenaRunner
    from functions.analytics.export_objects import ExportObjects
    from functions.analytics.store import FactStore
    from functions.connectors.spotify_creators import SpotifyCreatorsClient
    from functions.connectors.consonance.client import ConsonanceClient
    from functions.connectors.http import HttpService, RetryPolicy
    from functions.connectors.megaphone import MegaphoneClient
    from functions.connectors.rate_limit import SlotRateLimiter
    from functions.connectors.spotify_auth import AuthorizationCodeTokens, SpotifyCredentials
    from functions.connectors.spotify_playlists import SpotifyPlaylistsClient
    from functions.connectors.spotify_web import SpotifyWebClient
    from functions.consonance_writes import ConsonanceWriteback
    from functions.direct_messages import DirectMessages
    from functions.event_bus import EventBus
    from functions.secrets import AccountAuthorisations
    from functions.state.availability import AvailabilityStore
    from functions.state.cursors import CursorStore
    from functions.state.documents import DocumentStore
    from functions.state.idempotency import IdempotencyStore
    from functions.state.ledger import SyncLedger
    from functions.webhook.signature import DynamoReplayGuard
    from functions.connectors.media import MediaFetcher
    from functions.connectors.spotify_ads import SpotifyAdsClient
    from functions.settings import MarketingSettings, SpotifyAdsSettings
    from functions.state.renditions import RenditionStore


class Dependencies:
    def __init__(self, settings: FlowSettings):
        self.settings = settings
        self._limiters: dict[str, SlotRateLimiter] = {}

    # state ---------------------------------------------------------------------------------------
    @cached_property
    def ledger(self) -> SyncLedger:
        from functions.state.ledger import SyncLedger

        return SyncLedger(self.settings.table(Table.LEDGER))

    @cached_property
    def cursors(self) -> CursorStore:
        from functions.state.cursors import CursorStore

        return CursorStore(self.settings.table(Table.CURSORS))

    @cached_property
    def idempotency(self) -> IdempotencyStore:
        from functions.state.idempotency import IdempotencyStore

        return IdempotencyStore(self.settings.table(Table.IDEMPOTENCY))

    @cached_property
    def availability(self) -> AvailabilityStore:
        from functions.state.availability import AvailabilityStore

        return AvailabilityStore(self.settings.table(Table.AVAILABILITY))

    @cached_property
    def documents(self) -> DocumentStore:
        from functions.state.documents import DocumentStore

        return DocumentStore(self.settings.bucket(Bucket.DOCUMENTS), base_url=self.settings.core.documents_base_url)

    @cached_property
    def event_bus(self) -> EventBus:
        from functions.event_bus import EventBus

        core = self.settings.core
        return EventBus(core.event_bus_name, core.event_source, allowed=self.settings.declaration.emits)

    def direct_messages(self, target: str) -> DirectMessages | None:
        """Messages to a flow this one `sends_to`; None where the deployment does not wire its queue
        (an operator's local run of the flow's logic)."""
        from functions.direct_messages import DirectMessages
        from functions.flow_declarations import flow

        url = self.settings.queue_url(target)
        if url is None:
            return None
        return DirectMessages(url, self.settings.core.event_source, flow(target).accepts)

    @cached_property
    def alerts(self) -> AlertPublisher:
        from functions.alerts import AlertPublisher

        return AlertPublisher(self.settings.core.alerts_topic_arn if self.settings.declaration.publishes_alerts else None)

    # connectors ----------------------------------------------------------------------------------
    def _retry_policy(self) -> RetryPolicy:
        from functions.connectors.http import RetryPolicy

        http = self.settings.http
        return RetryPolicy(max_attempts=http.http_max_attempts, backoff_cap_seconds=http.http_backoff_cap_seconds)

    def _shared_limiter(self, service: str, credential: str, per_minute: int) -> SlotRateLimiter:
        """One rate limit per credential, shared by every concurrent Lambda (keyed by its fingerprint),
        and one limiter per credential in this environment, however many clients use it."""
        from functions.connectors.rate_limit import SlotRateLimiter
        from functions.secrets import fingerprint
        from functions.state.cursors import DynamoSlotSchedule

        key = f"{service}:{fingerprint(credential)}"
        if key not in self._limiters:
            self._limiters[key] = SlotRateLimiter(key, per_minute, DynamoSlotSchedule(self.settings.table(Table.CURSORS)))
        return self._limiters[key]

    def release_rate_limits(self) -> None:
        """At the end of an invocation: give back the request slots its limiters reserved and did not
        use, so other Lambdas on the same credentials need not wait for them."""
        for limiter in self._limiters.values():
            limiter.release()

    def _service(self, service: str, base_url: str, secret_id: str | None, per_minute: int) -> HttpService:
        from functions.connectors.http import HttpService

        return HttpService(
            service=service,
            base_url=base_url,
            limiter=self._shared_limiter(service, secret_value(secret_id) if secret_id else service, per_minute),
            retry=self._retry_policy(),
            timeout_seconds=self.settings.http.http_timeout_seconds,
        )

    @cached_property
    def consonance(self) -> ConsonanceClient:
        from functions.connectors.api_client import StaticToken
        from functions.connectors.consonance.client import ConsonanceClient

        config = self.settings.consonance
        secret_id = config.consonance_secret_id
        return ConsonanceClient(
            self._service("consonance", config.consonance_url, secret_id, config.consonance_rate_per_minute),
            tokens=StaticToken("Authorization", "Bearer {token}", lambda: secret_value(secret_id)),
            product_types=self.settings.mapping.audio_product_types,
            link_role=self.settings.mapping.spotify_link_role,
        )

    @cached_property
    def consonance_writeback(self) -> ConsonanceWriteback:
        from functions.consonance_writes import ConsonanceWriteback

        return ConsonanceWriteback(self.consonance, self.ledger, note_updates=self.settings.mapping.internal_note_updates)

    @cached_property
    def megaphone(self) -> MegaphoneClient:
        from functions.connectors.megaphone import MegaphoneClient

        config = self.settings.megaphone
        secret_id = config.megaphone_secret_id
        http = self._service("megaphone", config.megaphone_url, secret_id, config.megaphone_rate_per_minute)
        http.auth_headers = lambda: {"Authorization": f"Token token={secret_value(secret_id)}"}
        return MegaphoneClient(http, network_id=config.megaphone_network_id)

    def spotify_credentials(self) -> SpotifyCredentials:
        """The Spotify app's credentials, read through the secrets cache on every token request, so a
        rotated secret is picked up."""
        from functions.connectors.spotify_auth import SpotifyCredentials

        return SpotifyCredentials.model_validate_json(secret_value(self.settings.spotify.spotify_secret_id))

    @cached_property
    def spotify_web(self) -> SpotifyWebClient:
        from functions.connectors.spotify_web import SpotifyWebClient

        config = self.settings.spotify
        return SpotifyWebClient(
            self.spotify_credentials,
            limiter=self._shared_limiter("spotify", self.spotify_credentials().client_id, config.spotify_rate_per_minute),
            retry=self._retry_policy(),
            accounts_url=config.spotify_accounts_url,
            api_url=config.spotify_api_url,
            timeout_seconds=self.settings.http.http_timeout_seconds,
        )

    @cached_property
    def spotify_authorisations(self) -> AccountAuthorisations:
        from functions.secrets import AccountAuthorisations

        return AccountAuthorisations(self.settings.spotify_accounts.secret_id)

    def spotify_account_tokens(self, account: str) -> AuthorizationCodeTokens:
        """A user token source for one authorised account; losing the authorisation alerts operators."""
        from functions.connectors.spotify_auth import AuthorizationCodeTokens, accounts_service

        cache = self.__dict__.setdefault("_account_tokens", {})
        if account not in cache:
            cache[account] = AuthorizationCodeTokens(
                accounts_service(self.settings.spotify.spotify_accounts_url, self._retry_policy(), self.settings.http.http_timeout_seconds),
                self.spotify_authorisations,
                account,
                on_lost=self._authorisation_lost,
            )
        tokens: AuthorizationCodeTokens = cache[account]
        return tokens

    def spotify_playlists(self, account: str) -> SpotifyPlaylistsClient:
        """Playlists of one authorised account (its user token); the app's rate limit is shared with the
        catalogue client, as Spotify counts it per app."""
        from functions.connectors.spotify_playlists import SpotifyPlaylistsClient, playlists_service

        cache = self.__dict__.setdefault("_playlist_clients", {})
        if account not in cache:
            config = self.settings.spotify
            http = playlists_service(
                api_url=config.spotify_api_url,
                limiter=self._shared_limiter("spotify", self.spotify_credentials().client_id, config.spotify_rate_per_minute),
                retry=self._retry_policy(),
                timeout_seconds=self.settings.http.http_timeout_seconds,
            )
            cache[account] = SpotifyPlaylistsClient(http, self.spotify_account_tokens(account))
        client: SpotifyPlaylistsClient = cache[account]
        return client

    def _authorisation_lost(self, account: str, why: str) -> None:
        from functions.alerts import Alert

        self.alerts.publish(
            Alert(
                subject=f"Spotify authorisation lost: account {account}",
                message=f"{why}\n\nUntil then, every write to this account's playlists or campaigns is dead-lettered with this reason.",
                attributes={"kind": "spotify_authorisation_lost", "account": account},
            )
        )

    # webhook ---------------------------------------------------------------------------------------
    def webhook_secrets(self) -> list[str]:
        """The webhook signing keys currently accepted (not cached here: the secrets cache expires them).

        The secret is either one key, or a JSON array of keys while a key is being rotated (new first);
        a delivery signed with any of them verifies.
        """
        raw = secret_value(self.settings.webhook.webhook_secret_id)
        if raw.lstrip().startswith("["):
            try:
                keys = json.loads(raw)
            except json.JSONDecodeError:
                raise ConfigurationError("the webhook secret starts like a JSON array of keys but is not valid JSON") from None
            if not isinstance(keys, list) or not keys or not all(isinstance(key, str) and key.strip() for key in keys):
                raise ConfigurationError("the webhook secret is a JSON array but not of non-empty strings")
            return keys
        if not raw.strip():
            raise ConfigurationError("the webhook signing key is blank")
        return [raw]

    @cached_property
    def webhook_replay_guard(self) -> DynamoReplayGuard:
        """Signatures already received, remembered in the idempotency table until they go stale."""
        from functions.webhook.signature import DynamoReplayGuard

        return DynamoReplayGuard(self.settings.table(Table.IDEMPOTENCY))

    # distribution pre-flight ---------------------------------------------------------------------------
    @cached_property
    def media_fetcher(self) -> MediaFetcher:
        """Fetches media files: covers, masters, headshots, spots (public or pre-signed URLs: no credentials)."""
        from functions.connectors.media import MediaFetcher

        config = self.settings.http
        return MediaFetcher(
            timeout_seconds=config.media_fetch_timeout_seconds,
            deadline_seconds=config.media_fetch_deadline_seconds,
            retry=self._retry_policy(),
        )

    @cached_property
    def renditions(self) -> RenditionStore:
        """Artwork renditions in the renditions bucket, and the URLs Megaphone fetches them from."""
        from functions.state.renditions import RenditionStore

        config = self.settings.megaphone
        return RenditionStore(
            self.settings.bucket(Bucket.RENDITIONS),
            public_base_url=config.renditions_base_url,
            url_expiry_seconds=config.renditions_url_expiry_seconds,
        )

    # marketing (campaign milestones, issue 7) --------------------------------------------------------
    @cached_property
    def marketing_settings(self) -> MarketingSettings:
        """Loaded (and validated) when a marketing flow builds its dependencies, at cold start."""
        from functions.settings import MarketingSettings

        return MarketingSettings.from_environment()

    @cached_property
    def spotify_ads_settings(self) -> SpotifyAdsSettings:
        from functions.settings import SpotifyAdsSettings

        if Secret.SPOTIFY_ACCOUNTS not in self.settings.declaration.secrets:
            raise ConfigurationError(f"{self.settings.declaration.name} does not declare the spotify-accounts connector (the Ads API uses its token)")
        return SpotifyAdsSettings.from_environment()

    @cached_property
    def spotify_ads(self) -> SpotifyAdsClient:
        """The Ads API for the configured ad account, with the authorised account's user token."""
        from functions.connectors.http import HttpService
        from functions.connectors.spotify_ads import SpotifyAdsClient, ads_error

        config = self.spotify_ads_settings
        account, ad_account_id = config.configured()
        http = HttpService(
            service="spotify-ads",
            base_url=config.spotify_ads_url,
            limiter=self._shared_limiter("spotify-ads", ad_account_id, config.spotify_ads_rate_per_minute),
            retry=self._retry_policy(),
            timeout_seconds=self.settings.http.http_timeout_seconds,
            translate_error=ads_error,
        )
        return SpotifyAdsClient(http, self.spotify_account_tokens(account), ad_account_id)

    # listening analytics ---------------------------------------------------------------------------
    @cached_property
    def analytics_store(self) -> FactStore:
        """The daily-fact store: Parquet under the analytics bucket's prefix (needs the analytics layer)."""
        from functions.analytics.store import s3_store

        return s3_store(self.settings.bucket(Bucket.ANALYTICS), self.settings.analytics.analytics_prefix)

    @cached_property
    def megaphone_exports(self) -> ExportObjects:
        from functions.analytics.export_objects import ExportObjects

        return ExportObjects(self.settings.bucket(Bucket.MEGAPHONE_EXPORT), self.settings.megaphone_export.megaphone_export_prefix)

    @cached_property
    def athena_rollups(self) -> AthenaRunner:
        """The rollups on Athena, in the stack's workgroup and Glue database (flows that `runs_athena_queries`)."""
        from functions.analytics.athena_runner import AthenaLocation, AthenaRunner
        from functions.settings import ConfigurationError

        settings = self.settings.analytics
        if not self.settings.declaration.runs_athena_queries or not settings.analytics_glue_database or not settings.analytics_athena_workgroup:
            raise ConfigurationError(
                f"{self.settings.declaration.name}: ANALYTICS_GLUE_DATABASE and ANALYTICS_ATHENA_WORKGROUP are wired by the stack "
                "only into flows that declare runs_athena_queries"
            )
        return AthenaRunner(
            AthenaLocation(
                database=settings.analytics_glue_database,
                workgroup=settings.analytics_athena_workgroup,
                output_location=settings.analytics_athena_output_location,
            )
        )

    @cached_property
    def spotify_creators(self) -> SpotifyCreatorsClient:
        """The UNOFFICIAL Creators client for the publisher's session: at most one request per interval,
        held across every concurrent collector by the shared slot schedule (slots at least an interval
        apart) and, since a slot may be used a little late, within one collector by spacing."""
        from functions.connectors.rate_limit import SuccessiveLimits
        from functions.connectors.spotify_creators import CreatorsCredentials, MinimumSpacing, SpotifyCreatorsClient

        config = self.settings.spotify_creators
        secret_id = config.spotify_creators_secret_id
        interval = config.spotify_creators_min_interval_seconds
        # Whole requests per minute, rounded down: the slots are then never closer than the interval.
        shared = self._shared_limiter("spotify-creators", secret_id, max(1, math.floor(60 / interval)))
        return SpotifyCreatorsClient(
            lambda: CreatorsCredentials.from_secret(secret_value(secret_id)),
            pacing=SuccessiveLimits(shared, MinimumSpacing(interval)),
            retry=self._retry_policy(),
            accounts_url=config.spotify_creators_accounts_url,
            api_url=config.spotify_creators_api_url,
            timeout_seconds=self.settings.http.http_timeout_seconds,
        )

"""Builds the repositories and connectors a flow uses, once per Lambda execution environment.

Handlers call these functions instead of constructing clients, so a flow only ever touches what its
declaration grants, and tests or the sandbox can `reset()` them after changing the environment.
Each factory imports its connector or repository itself: a handler's cold start then pays only for
the clients that flow really uses, not for all of them (`make bench`, cold_start_ratio).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from functions.execution_environment import built_once
from functions.secrets import fingerprint, secret_value
from functions.settings import Settings
from functions.settings import settings as _settings

if TYPE_CHECKING:
    from functions.alerts import AlertPublisher
    from functions.connectors.consonance import ConsonanceClient
    from functions.connectors.http import HttpService, RetryPolicy
    from functions.connectors.megaphone import MegaphoneClient
    from functions.connectors.rate_limit import WindowRateLimiter
    from functions.connectors.spotify_web import SpotifyCredentials, SpotifyWebClient
    from functions.event_bus import EventBus
    from functions.state.availability import AvailabilityStore
    from functions.state.cursors import CursorStore
    from functions.state.idempotency import IdempotencyStore
    from functions.state.ledger import SyncLedger
    from functions.webhook.signature import DynamoReplayGuard


def settings() -> Settings:
    return _settings()


@built_once
def ledger() -> SyncLedger:
    from functions.state.ledger import SyncLedger
    return SyncLedger(_settings().ledger_table)


@built_once
def cursors() -> CursorStore:
    from functions.state.cursors import CursorStore
    return CursorStore(_settings().cursors_table)


@built_once
def idempotency() -> IdempotencyStore:
    from functions.state.idempotency import IdempotencyStore
    return IdempotencyStore(_settings().idempotency_table)


@built_once
def event_bus() -> EventBus:
    from functions.event_bus import EventBus
    return EventBus(_settings().event_bus_name, _settings().event_source)


def _retry_policy() -> RetryPolicy:
    from functions.connectors.http import RetryPolicy
    config = _settings()
    return RetryPolicy(max_attempts=config.http_max_attempts, backoff_cap_seconds=config.http_backoff_cap_seconds)


def _shared_limiter(service: str, credential: str, per_minute: int) -> WindowRateLimiter:
    """One rate limit per credential, shared by every concurrent Lambda (keyed by its fingerprint)."""
    from functions.connectors.rate_limit import WindowRateLimiter
    from functions.state.cursors import DynamoWindowCounters
    return WindowRateLimiter(f"{service}:{fingerprint(credential)}", per_minute, DynamoWindowCounters(_settings().cursors_table))


def _token_service(service: str, base_url: str, secret_id: str, header: str, per_minute: int) -> HttpService:
    """An API authenticated by a token from Secrets Manager; `header` formats it ("Bearer {token}")."""
    from functions.connectors.http import HttpService
    return HttpService(
        service=service,
        base_url=base_url,
        auth_headers=lambda: {"Authorization": header.format(token=secret_value(secret_id))},
        limiter=_shared_limiter(service, secret_value(secret_id), per_minute),
        retry=_retry_policy(),
        timeout_seconds=_settings().http_timeout_seconds,
    )


@built_once
def consonance() -> ConsonanceClient:
    from functions.connectors.consonance import ConsonanceClient
    config = _settings()
    http = _token_service(
        "consonance", config.consonance_url, config.consonance_secret_id, "Bearer {token}", config.consonance_rate_per_minute
    )
    return ConsonanceClient(http, product_types=config.mapping.audio_product_types, link_role=config.mapping.spotify_link_role)


@built_once
def megaphone() -> MegaphoneClient:
    from functions.connectors.megaphone import MegaphoneClient
    config = _settings()
    http = _token_service(
        "megaphone", config.megaphone_url, config.megaphone_secret_id, "Token token={token}", config.megaphone_rate_per_minute
    )
    return MegaphoneClient(http, network_id=config.megaphone_network_id)


@built_once
def availability() -> AvailabilityStore:
    from functions.state.availability import AvailabilityStore
    return AvailabilityStore(_settings().availability_table)


@built_once
def alerts() -> AlertPublisher:
    from functions.alerts import AlertPublisher
    return AlertPublisher(_settings().alerts_topic_arn)


def spotify_credentials() -> SpotifyCredentials:
    """The Spotify app's credentials: the secret holds JSON `{"client_id": ..., "client_secret": ...}`.
    Read through the secrets cache on every token request, so a rotated secret is picked up."""
    from functions.connectors.spotify_web import SpotifyCredentials
    return SpotifyCredentials.model_validate_json(secret_value(_settings().spotify_secret_id))


@built_once
def spotify_web() -> SpotifyWebClient:
    from functions.connectors.spotify_web import SpotifyWebClient
    config = _settings()
    return SpotifyWebClient(
        spotify_credentials,
        limiter=_shared_limiter("spotify", spotify_credentials().client_id, config.spotify_rate_per_minute),
        retry=_retry_policy(),
        accounts_url=config.spotify_accounts_url,
        api_url=config.spotify_api_url,
        timeout_seconds=config.http_timeout_seconds,
    )


def webhook_secrets() -> list[str]:
    """The webhook signing keys currently accepted (not cached here: the secrets cache expires them).

    The secret is either one key, or a JSON array of keys while a key is being rotated (new first);
    a delivery signed with any of them verifies.
    """
    raw = secret_value(_settings().webhook_secret_id)
    if raw.lstrip().startswith("["):
        keys = json.loads(raw)
        if not isinstance(keys, list) or not keys or not all(isinstance(key, str) and key for key in keys):
            raise ValueError("the webhook secret is a JSON array but not of non-empty strings")
        return keys
    return [raw]


@built_once
def webhook_replay_guard() -> DynamoReplayGuard:
    """Signatures already received, remembered in the idempotency table until they go stale."""
    from functions.webhook.signature import DynamoReplayGuard
    return DynamoReplayGuard(_settings().idempotency_table)


def reset() -> None:
    """Forget every built client (after the environment changed: tests, the sandbox)."""
    _settings.cache_clear()
    for factory in (ledger, cursors, idempotency, event_bus, consonance, megaphone):
        factory.cache_clear()
    for factory in (availability, alerts, spotify_web, webhook_replay_guard):
        factory.cache_clear()

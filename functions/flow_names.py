"""Every flow's name, in one place: declarations, findings, metrics and logs use these members, never
the text retyped. A module with no imports, so domain code can name the flow a finding came from."""

from __future__ import annotations

from enum import StrEnum


class FlowName(StrEnum):
    CONSONANCE_POLLER = "consonance-poller"
    EPISODE_PUBLISHER = "episode-publisher"
    INGEST_CHECKER = "ingest-checker"
    CONSONANCE_WRITEBACK = "consonance-writeback"
    METADATA_SYNC = "metadata-sync"
    RELEASE_SWEEP = "release-sweep"
    RIGHTS_SYNC = "rights-sync"
    AVAILABILITY_MONITOR = "availability-monitor"
    AVAILABILITY_RECORDER = "availability-recorder"
    WEBHOOK_INGEST = "webhook-ingest"
    RECONCILER = "reconciler"
    SPOTIFY_AUTHORISATION_CHECK = "spotify-authorisation-check"
    ANALYTICS_EXPORT_INGEST = "analytics-export-ingest"
    ANALYTICS_CREATORS_COLLECTOR = "analytics-creators-collector"
    ANALYTICS_NIGHTLY = "analytics-nightly"

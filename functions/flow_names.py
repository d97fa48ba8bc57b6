"""Every flow's name, in one place: declarations, findings, metrics and logs use these members, never
the text retyped. A module with no imports, so domain code can name the flow a finding came from."""

from __future__ import annotations

from enum import StrEnum


class FlowName(StrEnum):
    CONSONANCE_POLLER = "consonance-poller"
    EPISODE_PUBLISHER = "episode-publisher"
    INGEST_CHECKER = "ingest-checker"
    INGEST_FOLLOW_UP = "ingest-follow-up"
    CONSONANCE_WRITEBACK = "consonance-writeback"
    METADATA_SYNC = "metadata-sync"
    RELEASE_SWEEP = "release-sweep"
    RIGHTS_SYNC = "rights-sync"
    AVAILABILITY_MONITOR = "availability-monitor"
    AVAILABILITY_RECORDER = "availability-recorder"
    WEBHOOK_INGEST = "webhook-ingest"
    RECONCILER = "reconciler"
    SPOTIFY_AUTHORISATION_CHECK = "spotify-authorisation-check"
    DISTRIBUTION_FEEDBACK = "distribution-feedback"
    # contributor promotion
    CONTRIBUTOR_POLLER = "contributor-poller"
    AUTHOR_PLAYLISTS = "author-playlists"
    PROMO_BRIEFS = "promo-briefs"
    # branded audio for business (functions/domain/licence.py)
    LICENCE_SWEEP = "licence-sweep"
    BRAND_SHOW = "brand-show"
    VENUE_DELIVERY = "venue-delivery"
    LICENCE_STATUS = "licence-status"
    BRAND_PLAYLISTS = "brand-playlists"
    # marketing (campaign milestones, issue 7)
    MILESTONE_DETECTOR = "milestone-detector"
    CAMPAIGN_PLANNER = "campaign-planner"
    ADS_REPORT_COLLECTOR = "ads-report-collector"
    ANALYTICS_EXPORT_INGEST = "analytics-export-ingest"
    ANALYTICS_CREATORS_COLLECTOR = "analytics-creators-collector"
    ANALYTICS_NIGHTLY = "analytics-nightly"

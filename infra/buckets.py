"""S3 bucket shapes, declared once: the CDK stack builds them and the sandbox creates the same buckets
in moto, with the environment variable that carries each one's name into the flows that declare it."""

from __future__ import annotations

from dataclasses import dataclass

from functions.settings import BUCKET_VARIABLES
from infra.flows import Bucket


@dataclass(frozen=True)
class BucketSpec:
    bucket: Bucket
    purpose: str
    versioned: bool = True  # a rewritten brief keeps its earlier versions (noncurrent ones expire)
    noncurrent_days: int = 90
    event_bridge: bool = False  # S3 announces its object events on EventBridge's default bus
    expiring_prefixes: tuple[tuple[str, int], ...] = ()  # (key prefix, days): objects there expire

    @property
    def env_var(self) -> str:
        return BUCKET_VARIABLES[self.bucket]


BUCKETS: tuple[BucketSpec, ...] = (
    BucketSpec(Bucket.DOCUMENTS, "documents people read: campaign and promo briefs, reports, delivery packages"),
    BucketSpec(Bucket.RENDITIONS, "artwork renditions Megaphone fetches instead of a non-compliant cover (content-addressed)"),
    # Branded audio for business-music providers: a package's objects are expired (deleted) when its
    # licence ends, and their earlier versions go a day later.
    BucketSpec(Bucket.VENUE_DELIVERY, "venue delivery packages of branded audio (manifest, audio, licence terms)", noncurrent_days=1),
    # Facts are replaced batch by batch (the store's own versioning); Athena's results are scratch.
    BucketSpec(
        Bucket.ANALYTICS,
        "the listening-analytics store: daily facts and dimensions (Parquet), Athena query results",
        versioned=False,
        expiring_prefixes=(("athena-results/", 30),),
    ),
    # Megaphone overwrites each day file hourly: earlier versions are kept a week, for a re-read.
    BucketSpec(
        Bucket.MEGAPHONE_EXPORT,
        "Megaphone's delivery export (written by Megaphone; its object events start the ingest)",
        noncurrent_days=7,
        event_bridge=True,
    ),
)


def bucket_spec(bucket: Bucket) -> BucketSpec:
    return next(spec for spec in BUCKETS if spec.bucket == bucket)

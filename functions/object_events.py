"""S3's "Object Created" events as they arrive from EventBridge (through a flow's SQS queue).

S3 sends them to the account's default bus when the bucket has EventBridge notifications on; the
shape is AWS's (`source` aws.s3, `detail.bucket.name`, `detail.object.key/size/etag/version-id/
sequencer`, `detail.reason`), not a domain event: it carries no `schema_version`, so it has a parser
of its own. Keys arrive as stored (EventBridge does not URL-encode them, unlike S3's own
notifications to SQS/SNS/Lambda).

An object event says that an object was written, not what it holds now: by the time it is handled
the key may have been overwritten again, so handlers read the object's current content, which makes
a late or duplicate event harmless.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from functions.domain.errors import MalformedEvent, UnknownEventType

OBJECT_CREATED = "Object Created"
S3_SOURCE = "aws.s3"


class _Bucket(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=3)


class _Object(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    key: str = Field(min_length=1)
    size: int | None = None
    etag: str | None = Field(default=None, validation_alias=AliasChoices("etag", "eTag"))
    version_id: str | None = Field(default=None, alias="version-id")
    sequencer: str | None = None


class _Detail(BaseModel):
    model_config = ConfigDict(extra="ignore")

    bucket: _Bucket
    object: _Object
    reason: str | None = None


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str
    detail_type: str = Field(alias="detail-type")
    source: str
    time: datetime
    detail: _Detail


class StoredObject(BaseModel):
    """One created object: where it is and what S3 said about it."""

    model_config = ConfigDict(frozen=True)

    event_id: str  # the EventBridge event id (the same on a duplicate delivery)
    bucket: str
    key: str
    size: int | None = None
    etag: str | None = None
    version_id: str | None = None
    created_at: datetime

    def entity_key(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def parse_object_created(body: str) -> StoredObject:
    """The object an SQS message body (an EventBridge event) announces, or a typed error."""
    try:
        envelope = _Envelope.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        raise MalformedEvent(f"not an S3 Object Created event: {where}: {first.get('msg')}") from exc
    if envelope.source != S3_SOURCE or envelope.detail_type != OBJECT_CREATED:
        raise UnknownEventType(f"{envelope.source} {envelope.detail_type!r} is not an S3 Object Created event")
    item = envelope.detail.object
    return StoredObject(
        event_id=envelope.id,
        bucket=envelope.detail.bucket.name,
        key=item.key,
        size=item.size,
        etag=item.etag,
        version_id=item.version_id,
        created_at=envelope.time,
    )

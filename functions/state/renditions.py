"""Artwork renditions in S3, and the URL Megaphone fetches them from.

Keys are content-addressed: `<prefix><sha256 of the bytes>.<extension>`. The same rendition is
stored once however often it is made (the object is only written when it is not there yet), a key
never points at different bytes, and objects can be cached for ever (`immutable`).

The URL Megaphone gets — the choice, in order:
1. `public_base_url` + key, when configured. This is the recommended production setup (a CloudFront
   distribution with origin access control in front of the bucket, or a public prefix): the URL is
   stable, so pushing it twice is the same push, and it never expires.
2. Otherwise a pre-signed GET URL (SigV4) valid for `url_expiry_seconds` (at most 7 days, SigV4's
   limit). It is minted when the episode is pushed (`url(key)`), never stored: a pre-signed URL is
   only as long-lived as the credentials that signed it — a Lambda role's session lasts hours, not
   days — and it changes on every mint, so ledger entries and content hashes must hold the key, not
   the URL. Megaphone fetches the image when the episode is created or updated, well inside that.

`rendition_reference(key, public_base_url)` is the stable name of a rendition that ledger entries and
field hashes hold: the public URL when there is one, else `rendition:<key>`; `sendable(url)` turns such
a reference into the URL to send at the moment of a push (anything else is returned as it is).
"""

from __future__ import annotations

import hashlib
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from functions.domain.errors import PermanentError, TransientError

MAX_PRESIGNED_SECONDS = 7 * 24 * 3600
REFERENCE_SCHEME = "rendition:"  # a rendition served by pre-signed URLs, named by its key
IMMUTABLE = "public, max-age=31536000, immutable"
THROTTLING = frozenset({"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "RequestTimeTooSkewed"})


class RenditionStoreUnavailable(TransientError):
    """S3 throttled, failed (5xx) or could not be reached: the record is retried."""

    code = "rendition_store_unavailable"


class RenditionStoreRefused(PermanentError):
    """S3 refused the request (access denied, no such bucket): a deployment problem, not a retry."""

    code = "rendition_store_refused"


class RenditionStore:
    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "renditions/artwork/",
        public_base_url: str | None = None,
        url_expiry_seconds: int = MAX_PRESIGNED_SECONDS,
        client: Any = None,
    ):
        if not 1 <= url_expiry_seconds <= MAX_PRESIGNED_SECONDS:
            raise ValueError(f"url_expiry_seconds must be between 1 and {MAX_PRESIGNED_SECONDS} (7 days, SigV4's limit)")
        self.bucket = bucket
        self.prefix = prefix
        self.public_base_url = public_base_url.rstrip("/") + "/" if public_base_url else None
        self.url_expiry_seconds = url_expiry_seconds
        self._client = client

    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.client("s3", config=Config(signature_version="s3v4"))
        return self._client

    def key_for(self, content: bytes, extension: str) -> str:
        return f"{self.prefix}{hashlib.sha256(content).hexdigest()}.{extension}"

    def put(self, content: bytes, *, content_type: str, extension: str) -> str:
        """Store the rendition unless it is already there; return its key."""
        key = self.key_for(content, extension)
        if self._exists(key):
            return key
        try:
            self.client().put_object(Bucket=self.bucket, Key=key, Body=content, ContentType=content_type, CacheControl=IMMUTABLE)
        except (ClientError, BotoCoreError) as exc:
            raise _typed(exc, f"storing {key}") from exc
        return key

    def url(self, key: str) -> str:
        """The URL Megaphone should fetch the rendition from (see the module docstring)."""
        if self.public_base_url:
            return self.public_base_url + key
        url: str = self.client().generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=self.url_expiry_seconds
        )
        return url

    def reference(self, key: str) -> str:
        """The rendition's stable name (see the module docstring): never a pre-signed URL."""
        return rendition_reference(key, self.public_base_url)

    def sendable(self, url: str) -> str:
        """The URL Megaphone can fetch for a field value: a `rendition:` reference becomes a pre-signed
        URL minted now; any other URL (a source, a public rendition URL) is sent as it is."""
        return self.url(url.removeprefix(REFERENCE_SCHEME)) if url.startswith(REFERENCE_SCHEME) else url

    def _exists(self, key: str) -> bool:
        try:
            self.client().head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise _typed(exc, f"looking up {key}") from exc
        except BotoCoreError as exc:
            raise _typed(exc, f"looking up {key}") from exc
        return True


def rendition_reference(key: str, public_base_url: str | None) -> str:
    """The public URL of the rendition when the bucket has one in front of it, else `rendition:<key>`."""
    return public_base_url.rstrip("/") + "/" + key if public_base_url else REFERENCE_SCHEME + key


def _typed(exc: ClientError | BotoCoreError, doing: str) -> TransientError | PermanentError:
    """S3's failure as the queue should treat it: throttling, 5xx and network errors are retried."""
    if isinstance(exc, BotoCoreError):
        return RenditionStoreUnavailable(f"S3 {doing}: {exc}")
    code = exc.response.get("Error", {}).get("Code", "")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if code in THROTTLING or status >= 500:
        return RenditionStoreUnavailable(f"S3 {doing}: {code or status}")
    return RenditionStoreRefused(f"S3 {doing}: {code or status}")

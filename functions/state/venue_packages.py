"""Venue delivery packages in their own bucket: what a business-music provider (or a licensee's own
player) collects — the audio, and a manifest with the metadata and the licence terms.

Layout, one package per branded asset and licensee:

    venue/<licensee key>/<product id>/audio<.ext>        the master audio, copied (SHA-256 in its metadata)
    venue/<licensee key>/<product id>/manifest.json      for machines (status live | withdrawn, terms ...)
    venue/<licensee key>/<product id>/manifest.md        the same for people

A manifest is rewritten only when it changed (`DocumentStore`). Withdrawing a package rewrites its
manifest as withdrawn and expires its other objects: they are deleted at once, and the bucket's
lifecycle removes their earlier versions a day later (`infra/buckets.py`), so a provider that
still holds the manifest can no longer fetch the audio.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import ClientError

from functions.connectors.media import FetchedMedia
from functions.state.documents import DocumentStore, StoredDocument

SHA256_METADATA = "sha256"
PACKAGES_PREFIX = "venue"


class VenuePackages:
    def __init__(self, bucket: str, base_url: str | None = None):
        self.bucket = bucket
        self.documents = DocumentStore(bucket, base_url=base_url)
        self._client: Any = None

    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.client("s3")
        return self._client

    @staticmethod
    def prefix(licensee_key: str, product_id: int) -> str:
        return f"{PACKAGES_PREFIX}/{licensee_key}/{product_id}"

    def stored_sha256(self, key: str) -> str | None:
        """The SHA-256 an object was stored with, or None when there is no such object."""
        try:
            head = self.client().head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        stored: str | None = head.get("Metadata", {}).get(SHA256_METADATA)
        return stored

    def put_audio(self, key: str, media: FetchedMedia) -> None:
        media.body.seek(0)
        self.client().put_object(
            Bucket=self.bucket,
            Key=key,
            Body=media.body,  # streamed from the spooled file, not read into memory
            ContentType=media.content_type or "application/octet-stream",
            Metadata={SHA256_METADATA: media.sha256},
        )

    def put_manifest(self, prefix: str, markdown: str, data: dict[str, Any]) -> StoredDocument:
        return self.documents.put(f"{prefix}/manifest", markdown, data)

    def manifest(self, prefix: str) -> dict[str, Any] | None:
        return self.documents.read_json(f"{prefix}/manifest")

    def expire(self, keys: list[str]) -> None:
        """Delete the objects (each on its own: DeleteObject is idempotent, so a retry is harmless)."""
        for key in keys:
            self.client().delete_object(Bucket=self.bucket, Key=key)

    def object_keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        for page in self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix + "/"):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return sorted(keys)

"""Documents people read — campaign and promo briefs, reports, delivery manifests — in the documents
bucket: each as Markdown for people and JSON for machines, side by side under one key.

A document is rewritten only when its content changed (the stored JSON carries a content hash, read
back with one HEAD-sized GET), so a flow that re-renders an unchanged brief writes nothing. The link
recorded in Consonance opens the Markdown: through `documents_base_url` when the deployment puts a
(viewer-authenticated) site in front of the bucket, else in the S3 console for people with AWS access.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import quote

import boto3
from botocore.exceptions import ClientError
from pydantic import BaseModel

CONTENT_HASH_METADATA = "content-hash"


class StoredDocument(BaseModel):
    key: str  # without extension: `<key>.md` and `<key>.json`
    content_hash: str
    link: str
    written: bool  # False when the same content was already there


class DocumentStore:
    def __init__(self, bucket: str, base_url: str | None = None, region: str | None = None):
        self.bucket = bucket
        self.base_url = base_url
        self._region = region
        self._client: Any = None

    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.client("s3")
        return self._client

    def put(self, key: str, markdown: str, data: dict[str, Any]) -> StoredDocument:
        """Store the Markdown and JSON of one document under `key` unless they are already there."""
        content_hash = hashlib.sha256((markdown + "\0" + json.dumps(data, sort_keys=True, default=str)).encode()).hexdigest()[:32]
        if self.stored_hash(key) == content_hash:
            return StoredDocument(key=key, content_hash=content_hash, link=self.link(key), written=False)
        metadata = {CONTENT_HASH_METADATA: content_hash}
        body = json.dumps({**data, "content_hash": content_hash}, indent=2, sort_keys=True, default=str)
        self.client().put_object(Bucket=self.bucket, Key=f"{key}.json", Body=body.encode(), ContentType="application/json", Metadata=metadata)
        self.client().put_object(
            Bucket=self.bucket, Key=f"{key}.md", Body=markdown.encode(), ContentType="text/markdown; charset=utf-8", Metadata=metadata
        )
        return StoredDocument(key=key, content_hash=content_hash, link=self.link(key), written=True)

    def stored_hash(self, key: str) -> str | None:
        try:
            head = self.client().head_object(Bucket=self.bucket, Key=f"{key}.md")
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        stored: str | None = head.get("Metadata", {}).get(CONTENT_HASH_METADATA)
        return stored

    def read_json(self, key: str) -> dict[str, Any] | None:
        try:
            body = self.client().get_object(Bucket=self.bucket, Key=f"{key}.json")["Body"].read()
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        loaded: dict[str, Any] = json.loads(body)
        return loaded

    def keys(self, prefix: str) -> list[str]:
        """Every document key under `prefix` (without extension), sorted."""
        keys: set[str] = set()
        for page in self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            keys.update(item["Key"].rsplit(".", 1)[0] for item in page.get("Contents", []))
        return sorted(keys)

    def link(self, key: str) -> str:
        if self.base_url:
            return f"{self.base_url.rstrip('/')}/{quote(key)}.md"
        region = self._region or self.client().meta.region_name
        return f"https://s3.console.aws.amazon.com/s3/object/{self.bucket}?region={region}&prefix={quote(key)}.md"

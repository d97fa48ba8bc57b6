"""Megaphone's export bucket, read-only: the current content of an object, streamed.

The ingest always reads what an object holds now (not the version its event announced): Megaphone
overwrites a day file every hour, so by the time an event is handled a newer version may be there,
and reading it is what makes a late or repeated event harmless. A key that is gone is `None`, not an
error (a marker can name a day file Megaphone never wrote).
"""

from __future__ import annotations

from typing import Any, BinaryIO

from botocore.exceptions import ClientError

from functions.domain.errors import PermanentError, TransientError

MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
RETRYABLE_CODES = frozenset({"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "503", "500"})


class ExportBucketUnreadable(PermanentError):
    code = "export_bucket_unreadable"


class ExportBucketBusy(TransientError):
    code = "export_bucket_busy"


class ExportObjects:
    def __init__(self, bucket: str, prefix: str = "", client: Any = None):
        import boto3

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = client or boto3.client("s3")

    def in_scope(self, key: str) -> bool:
        """Whether Megaphone's export lives at `key` (under the configured prefix)."""
        return key.startswith(self.prefix)

    def open(self, key: str) -> BinaryIO | None:
        """The object's current content as a stream, or None when there is no such object."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in MISSING_CODES:
                return None
            message = f"s3://{self.bucket}/{key}: {code}: {exc.response.get('Error', {}).get('Message', '')}"
            if code in RETRYABLE_CODES:
                raise ExportBucketBusy(message) from exc
            raise ExportBucketUnreadable(message) from exc
        body: BinaryIO = response["Body"]
        return body

    @staticmethod
    def beside(key: str, name: str) -> str:
        """The key of `name` in the same folder as `key` (a marker's day files)."""
        folder = key.rsplit("/", 1)[0] + "/" if "/" in key else ""
        return folder + name

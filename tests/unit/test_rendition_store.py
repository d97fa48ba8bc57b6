"""Renditions in S3 (moto): content-addressed keys, written once, and the URL Megaphone gets."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from functions.domain.errors import PermanentError
from functions.state.renditions import MAX_PRESIGNED_SECONDS, RenditionStore, RenditionStoreRefused

pytestmark = pytest.mark.usefixtures("aws")

CONTENT = b"\xff\xd8\xff\xe0 a JPEG rendition"


@pytest.fixture
def bucket(request) -> str:
    name = f"renditions-{request.node.name.replace('_', '-')[:40]}".lower()
    boto3.client("s3").create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    return name


def test_a_rendition_is_stored_under_its_content_hash(bucket):
    store = RenditionStore(bucket)
    key = store.put(CONTENT, content_type="image/jpeg", extension="jpg")
    assert key == f"renditions/artwork/{hashlib.sha256(CONTENT).hexdigest()}.jpg"
    stored = boto3.client("s3").get_object(Bucket=bucket, Key=key)
    assert stored["Body"].read() == CONTENT
    assert (stored["ContentType"], stored["CacheControl"]) == ("image/jpeg", "public, max-age=31536000, immutable")


def test_the_same_rendition_is_written_once(bucket):
    store = RenditionStore(bucket)
    s3 = boto3.client("s3")
    key = store.put(CONTENT, content_type="image/jpeg", extension="jpg")
    first = s3.head_object(Bucket=bucket, Key=key)["ETag"]
    s3.put_object(Bucket=bucket, Key=key, Body=CONTENT, Metadata={"marker": "kept"})  # would be lost on a rewrite
    assert store.put(CONTENT, content_type="image/jpeg", extension="jpg") == key
    head = s3.head_object(Bucket=bucket, Key=key)
    assert head["Metadata"] == {"marker": "kept"} and head["ETag"] == first


def test_without_a_public_base_url_megaphone_gets_a_presigned_get_url(bucket):
    store = RenditionStore(bucket, url_expiry_seconds=3 * 24 * 3600)
    key = store.put(CONTENT, content_type="image/jpeg", extension="jpg")
    url = urlsplit(store.url(key))
    query = parse_qs(url.query)
    assert url.path.endswith(key)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == [str(3 * 24 * 3600)]


def test_a_public_base_url_gives_a_stable_url(bucket):
    store = RenditionStore(bucket, public_base_url="https://art.example.com/")
    key = store.put(CONTENT, content_type="image/jpeg", extension="jpg")
    assert store.url(key) == f"https://art.example.com/{key}"


@pytest.mark.parametrize("seconds", [0, MAX_PRESIGNED_SECONDS + 1])
def test_presigned_urls_live_at_most_seven_days(seconds):
    with pytest.raises(ValueError, match="7 days"):
        RenditionStore("any", url_expiry_seconds=seconds)


def test_a_missing_bucket_is_a_permanent_typed_error():
    with pytest.raises(RenditionStoreRefused) as raised:
        RenditionStore("no-such-bucket-here").put(CONTENT, content_type="image/jpeg", extension="jpg")
    assert isinstance(raised.value, PermanentError)

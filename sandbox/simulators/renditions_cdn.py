"""The CDN in front of the renditions bucket (a CloudFront distribution with origin access control, as
`functions.state.renditions` recommends): `GET /<key>` answers the object from the sandbox's S3
bucket, with its content type and an immutable cache header; an unknown key is 404 as CloudFront
answers an S3 origin's NoSuchKey (with origin access control, S3 says 403; CloudFront can map it).
`HEAD` too. No auth: the renditions are public covers."""

from __future__ import annotations

import boto3
import httpx
from botocore.exceptions import ClientError

from functions.clock import Clock
from sandbox.simulators.base import FaultPlan, Simulator

HOST = "renditions.sandbox.example"


class RenditionsCdnSimulator(Simulator):
    service = "renditions-cdn"

    def __init__(self, clock: Clock, bucket: str, *, host: str = HOST, faults: FaultPlan | None = None):
        super().__init__(clock, faults=faults)
        self.bucket = bucket
        self.host = host

    @property
    def base_url(self) -> str:
        return self.base_url_for(self.host)

    @staticmethod
    def base_url_for(host: str) -> str:
        return f"https://{host}/"

    def authenticate(self, request: httpx.Request) -> str:
        return "public"

    def route(self, request: httpx.Request, credential: str) -> httpx.Response:
        if request.method not in ("GET", "HEAD"):
            return httpx.Response(405, headers={"Allow": "GET, HEAD"})
        key = request.url.path.lstrip("/")
        try:
            found = boto3.client("s3").get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return httpx.Response(404, headers={"Content-Type": "text/plain"}, content=b"Not Found")
            raise
        body = found["Body"].read()
        headers = {
            "Content-Type": found.get("ContentType") or "application/octet-stream",
            "Content-Length": str(len(body)),
            "Cache-Control": found.get("CacheControl") or "",
        }
        return httpx.Response(200, headers=headers, content=body if request.method == "GET" else b"")

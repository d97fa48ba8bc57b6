"""Shared by the unit tests that need AWS: one in-process moto per module (starting it is most of a
test's cost; each test deploys its own copy under its own prefix)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from sandbox.moto_server import reset_client_caches


@pytest.fixture(scope="module")
def aws() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
            patch.delenv(name, raising=False)
        for name, value in {"AWS_DEFAULT_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
            patch.setenv(name, value)
        reset_client_caches()
        with mock_aws():
            yield
        reset_client_caches()

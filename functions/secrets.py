"""Secrets from AWS Secrets Manager, read through Powertools Parameters with a cache (5 minutes), so a
rotated value is picked up without a redeploy. Values are never logged: callers get a string and
the only derived value that may appear anywhere is `fingerprint` (a short one-way hash)."""

from __future__ import annotations

import hashlib

from aws_lambda_powertools.utilities import parameters

CACHE_SECONDS = 300


def secret_value(secret_id: str) -> str:
    value = parameters.get_secret(secret_id, max_age=CACHE_SECONDS)
    if not isinstance(value, str) or not value:
        raise ValueError(f"secret {secret_id} is empty or not a string")
    return value


def fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:12]

"""Secrets from AWS Secrets Manager, read through Powertools Parameters with a cache (5 minutes), so a
rotated value is picked up without a redeploy. Values are never logged: callers get a string and
the only derived value that may appear anywhere is `fingerprint` (a short one-way hash).

`AccountAuthorisations` keeps one Spotify account authorisation per secret (refresh token, scopes,
expiry); it writes back a rotated refresh token at once, so the next reader never holds a stale one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import boto3
from aws_lambda_powertools.utilities import parameters
from botocore.exceptions import ClientError

from functions.connectors.spotify_auth import AccountAuthorisation

CACHE_SECONDS = 300


def secret_value(secret_id: str) -> str:
    value = parameters.get_secret(secret_id, max_age=CACHE_SECONDS)
    if not isinstance(value, str) or not value:  # type: ignore[redundant-expr]  # typed str, but a binary secret arrives as bytes
        raise ValueError(f"secret {secret_id} is empty or not a string")
    return value


def fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:12]


class AccountAuthorisations:
    """Spotify account authorisations in Secrets Manager, one secret per account (`secret_id(account)`).

    Read without the Parameters cache: a refresh token rotated by another invocation must be seen at
    once (the old one may already be refused)."""

    def __init__(self, secret_id: Callable[[str], str]):
        self.secret_id = secret_id
        self._client: Any = None

    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.client("secretsmanager")
        return self._client

    def load(self, account: str) -> AccountAuthorisation | None:
        try:
            raw = self.client().get_secret_value(SecretId=self.secret_id(account))["SecretString"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ResourceNotFoundException":
                return None
            raise
        try:
            return AccountAuthorisation.model_validate_json(raw)
        except ValueError:
            return None  # the stack's placeholder: never authorised

    def save(self, authorisation: AccountAuthorisation) -> None:
        secret_id = self.secret_id(authorisation.account)
        try:
            self.client().put_secret_value(SecretId=secret_id, SecretString=authorisation.stored())
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            self.client().create_secret(Name=secret_id, SecretString=authorisation.stored())

"""Operator alerts on the operations SNS topic (the same topic the CloudWatch alarms notify).

A flow publishes here when a person must act now (a takedown), not for routine progress. The message
is plain text for e-mail and chat subscribers: what happened, to which product, where, and the command
that shows the details. Callers pass only catalogue facts; nothing secret belongs in an alert.
"""

from __future__ import annotations

import re
from typing import Any

import boto3
from pydantic import BaseModel, Field, field_validator

from functions.observability import logger

SUBJECT_LIMIT = 100  # SNS: at most 100 characters, printable ASCII, no line breaks
MESSAGE_LIMIT = 64_000  # SNS allows 256 KB; an alert that long is no longer readable anyway
_NOT_SUBJECT_SAFE = re.compile(r"[^\x20-\x7e]+")


class Alert(BaseModel):
    subject: str = Field(min_length=1)
    message: str = Field(min_length=1)
    attributes: dict[str, str] = Field(default_factory=dict)  # e.g. kind, product_id: for subscription filters

    @field_validator("subject")
    @classmethod
    def _subject_fits_sns(cls, value: str) -> str:
        cleaned = _NOT_SUBJECT_SAFE.sub(" ", value).strip()
        return cleaned[: SUBJECT_LIMIT - 3] + "..." if len(cleaned) > SUBJECT_LIMIT else cleaned

    @field_validator("message")
    @classmethod
    def _message_fits_sns(cls, value: str) -> str:
        return value if len(value) <= MESSAGE_LIMIT else value[: MESSAGE_LIMIT - 20] + "\n[message truncated]"


class AlertPublisher:
    """Publishes to one topic; with no topic configured it logs the alert instead and says so."""

    def __init__(self, topic_arn: str | None):
        self.topic_arn = topic_arn
        self._client: Any = None

    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.client("sns")
        return self._client

    def publish(self, alert: Alert) -> str | None:
        """The SNS message id, or None when no topic is configured (the metric alarm still fires)."""
        if not self.topic_arn:
            logger.warning("no alerts topic configured; alert not sent", extra={"subject": alert.subject})
            return None
        response = self.client().publish(
            TopicArn=self.topic_arn,
            Subject=alert.subject,
            Message=alert.message,
            MessageAttributes={name: {"DataType": "String", "StringValue": value} for name, value in alert.attributes.items() if value},
        )
        return str(response["MessageId"])

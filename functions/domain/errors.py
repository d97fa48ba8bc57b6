"""Typed errors. `PermanentError`s go straight to the dead-letter queue with their reason (retrying
cannot help); `TransientError`s are retried by the queue until the declared number of receives."""

from __future__ import annotations


class IntegrationError(Exception):
    """Base of every error this project raises on purpose."""

    code = "integration_error"


class PermanentError(IntegrationError):
    code = "permanent"


class TransientError(IntegrationError):
    code = "transient"


class MalformedEvent(PermanentError):
    code = "malformed_event"


class UnknownEventType(PermanentError):
    code = "unknown_event_type"


class UnknownEventVersion(PermanentError):
    code = "unknown_event_version"


class InvalidRecord(PermanentError):
    """A source record misses required fields or breaks a rule that only a person can fix."""

    code = "invalid_record"

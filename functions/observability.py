"""Powertools Logger (JSON, correlation id), Metrics (EMF) and Tracer, one instance per process."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer

NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "ConsonanceSpotify")

logger = Logger()
metrics = Metrics(namespace=NAMESPACE)
tracer = Tracer()

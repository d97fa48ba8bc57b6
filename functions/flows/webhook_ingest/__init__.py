"""Signed webhook (Lambda function URL): authentic, fresh, first-time notices become events."""

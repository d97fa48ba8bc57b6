"""DynamoDB repositories: the sync ledger, cursors, idempotency records and rate-limit windows."""

"""Everything that runs inside AWS Lambda: flows, domain model, connectors and state repositories."""

"""The domain model every flow consumes: Consonance's shapes stop at the mapping."""

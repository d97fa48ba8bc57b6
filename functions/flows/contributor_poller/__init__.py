"""Contributor promotion: polls Consonance for changed contributors and their works."""

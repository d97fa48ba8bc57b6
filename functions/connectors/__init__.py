"""Clients of the external APIs. They know HTTP, auth, paging and limits, and nothing about flows."""

"""The analytics tests use the unit tests' shared fixtures (in-process moto, observed requests,
simulator routes cleared after each test)."""

from tests.unit.conftest import aws, cleared_routes, exchanges  # noqa: F401  (fixtures, found by name)

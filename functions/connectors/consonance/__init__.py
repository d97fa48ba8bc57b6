"""The Consonance adapter: the GraphQL client, its records and documents, the project's SDL of the
subset it uses, and the mapping of Consonance records onto the domain model."""

from functions.connectors.consonance.client import ConsonanceClient, typed_graphql_error
from functions.connectors.consonance.records import (
    ProductRecord,
    SpotifyLinkWrite,
    WebLinkRecord,
    WriteResult,
)

__all__ = ["ConsonanceClient", "ProductRecord", "SpotifyLinkWrite", "WebLinkRecord", "WriteResult", "typed_graphql_error"]

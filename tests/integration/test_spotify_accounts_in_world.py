"""A sandbox world authorises the catalogue's Spotify accounts at its start, the way an operator does it
(`infra.ops auth spotify`), and a flow's platform dependencies act on their playlists with the result."""

from __future__ import annotations

from dataclasses import replace

import pytest

from functions.dependencies import Dependencies
from functions.flow_names import FlowName
from functions.settings import FlowSettings
from infra.flows import Secret, flow
from sandbox.catalogue import SpotifyAccountEntry
from tests.integration.harness import open_world
from tests.integration.small_catalogue import SmallCatalogue

SCOPES = ("playlist-modify-private", "playlist-modify-public", "playlist-read-private", "ugc-image-upload")




def test_the_world_authorises_its_accounts_and_flows_reach_their_playlists() -> None:
    declaration = replace(
        flow(FlowName.SPOTIFY_AUTHORISATION_CHECK), secrets=(Secret.SPOTIFY, Secret.SPOTIFY_ACCOUNTS), spotify_scopes=SCOPES
    )
    catalogue = SmallCatalogue().build().model_copy(
        update={
            "spotify_accounts": [
                SpotifyAccountEntry(account="publisher", user_id="larkspur-vine", display_name="Larkspur & Vine Audio"),
                SpotifyAccountEntry(account="unlisted", user_id="someone-else", display_name="Not allow-listed", allow_listed=False),
            ]
        }
    )
    with open_world(catalogue, flows=(declaration,)) as world:
        assert [a.account for a in world.spotify_authorisations] == ["publisher", "unlisted"]
        # authorised on the run's virtual clock, so its expiry (and the days-left metric) never depends
        # on when the sandbox ran
        assert {a.authorized_at for a in world.spotify_authorisations} == {catalogue.start_moment()}
        assert all(a.scopes == SCOPES for a in world.spotify_authorisations)
        environment = world.resources.environments[declaration.name]
        assert environment["SPOTIFY_ACCOUNTS"] == "publisher,unlisted"
        platform = Dependencies(FlowSettings(declaration, environment))
        client = platform.spotify_playlists("publisher")
        created = client.create_playlist("From a flow", "Made with the stored authorisation.", public=True)
        assert world.spotify.playlists.playlists[created.id].owner_id == "larkspur-vine"
        assert world.spotify.accounts.consents_given == 2
        with pytest.raises(Exception, match="allow-listed"):
            platform.spotify_playlists("unlisted").me()

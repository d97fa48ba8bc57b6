"""`python -m infra.ops doctor` against the sandbox: the simulators at the real hosts, the secrets in
(moto's) Secrets Manager under the world's prefix, the Spotify accounts authorised as an operator does
it. The sandbox passes; a Consonance without an inferred field, a Spotify grant that is expired or
absent, and a podcast id Megaphone does not have are each named as a failure, with what fixes them."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from pydantic import ValidationError

from functions.clock import utcnow
from functions.connectors.http import route_host
from functions.connectors.spotify_auth import SpotifyCredentials
from functions.secrets import AccountAuthorisations
from functions.settings import ConsonanceSettings
from infra.flows import Secret
from infra.naming import ResourceNames
from infra.ops.__main__ import main
from infra.ops.command import EXIT_FAILED, EXIT_OK
from infra.ops.doctor import Status, System, failed, run_checks
from infra.ops.deployed_flow import PROJECT_ROOT
from sandbox.catalogue import ApiKey, load_catalogue
from sandbox.simulators.consonance import ConsonanceSimulator
from sandbox.world import SandboxWorld, WorldOptions
from tests.integration.small_catalogue import derived_sample

CONSONANCE_HOST = urlsplit(str(ConsonanceSettings.model_fields["consonance_url"].default)).netloc
KEPT = {41003, 41008}
# The settings a deployment gives in its cdk.json context; here the world's, as the process environment.
DEPLOYMENT_VARIABLES = ("MEGAPHONE_NETWORK_ID", "MEGAPHONE_PODCASTS", "SPOTIFY_ACCOUNTS")


@pytest.fixture(scope="module")
def world() -> Iterator[SandboxWorld]:
    with SandboxWorld(derived_sample(load_catalogue(), KEPT, before_day=0), WorldOptions()) as sandbox:
        yield sandbox


@pytest.fixture
def deployment(world: SandboxWorld, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    settings: dict[str, str] = {}
    for environment in world.resources.environments.values():
        settings.update({name: environment[name] for name in DEPLOYMENT_VARIABLES if name in environment})
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    return settings


def doctor(world: SandboxWorld, *arguments: str) -> tuple[int, dict[str, Any], str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--prefix", world.resources.prefix, "doctor", "--json", *arguments], stdout=out, stderr=err)
    return code, json.loads(out.getvalue()), err.getvalue()


def by_check(report: dict[str, Any], system: str) -> dict[str, dict[str, Any]]:
    return {check["check"]: check for check in report["checks"] if check["system"] == system}


def test_the_sandbox_passes_every_check(world: SandboxWorld, deployment: dict[str, str]) -> None:
    code, report, err = doctor(world)

    assert code == EXIT_OK, (err, report)
    assert {check["status"] for check in report["checks"]} == {"ok"}
    consonance = by_check(report, "consonance")
    assert "WebLink.description" in consonance["inferred fields"]["detail"] and "Work.contracts" in consonance["inferred fields"]["detail"]
    assert "all " in consonance["schema"]["detail"]
    megaphone = by_check(report, "megaphone")
    podcasts = json.loads(deployment["MEGAPHONE_PODCASTS"])
    assert {f"series {series}" for series in podcasts} <= set(megaphone)
    spotify = by_check(report, "spotify")
    accounts = deployment["SPOTIFY_ACCOUNTS"].split(",")
    assert accounts and all(f"account {account}: refresh" in spotify for account in accounts)


def test_the_table_names_each_system_and_no_secret(world: SandboxWorld, deployment: dict[str, str]) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--prefix", world.resources.prefix, "doctor"], stdout=out, stderr=err)

    text = out.getvalue()
    assert code == EXIT_OK, text + err.getvalue()
    assert text.index("Consonance\nCHECK") < text.index("Megaphone\nCHECK") < text.index("Spotify\nCHECK")
    assert "0 failed, 0 warning(s)" in text
    secrets = [value for value in world.secret_values.values()]
    secrets += [json.loads(world.secret_values[Secret.SPOTIFY])["client_secret"]]
    secrets += [authorisation.refresh_token.get_secret_value() for authorisation in world.spotify_authorisations]
    assert not [secret for secret in secrets if secret in text + err.getvalue()]


@pytest.fixture
def consonance_without(world: SandboxWorld) -> Iterator[Any]:
    """Serve Consonance without some fields, with the deployment's own API key."""

    def serve(*coordinates: str) -> None:
        key = ApiKey(key=world.secret_values[Secret.CONSONANCE], access="read_write")
        route_host(CONSONANCE_HOST, ConsonanceSimulator(world.clock, world.catalogue, api_keys=[key], without=coordinates))

    yield serve
    route_host(CONSONANCE_HOST, world.consonance)


def test_a_field_consonance_lacks_is_named_with_the_setting_that_works_around_it(
    world: SandboxWorld, deployment: dict[str, str], consonance_without: Any
) -> None:
    consonance_without("Contract.approvalStatus", "WebLink.description")

    code, report, _ = doctor(world, "--system", "consonance")

    assert code == EXIT_FAILED
    checks = by_check(report, "consonance")
    approval = checks["Contract.approvalStatus"]
    assert approval["status"] == "fail"
    assert "used by BrandedProductsById" in approval["detail"]
    assert 'consonanceMapping.branded.licence_approval = "signed"' in approval["detail"]
    description = checks["WebLink.description"]
    assert description["status"] == "fail" and "no setting works around it" in description["detail"]
    assert "RecordSpotifyLinks" in description["detail"] and "ChangedAudioProducts" in description["detail"]
    assert "schema" not in checks  # not "all present"
    assert "WebLink.description" not in checks["inferred fields"]["detail"]


def test_a_configured_workaround_turns_the_failure_into_a_warning(
    world: SandboxWorld, deployment: dict[str, str], consonance_without: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    consonance_without("Mutation.updateMarketingText")
    assert doctor(world, "--system", "consonance")[0] == EXIT_FAILED

    monkeypatch.setenv("MAPPING", json.dumps({"internal_note_updates": "recreate"}))
    code, report, _ = doctor(world, "--system", "consonance")

    assert code == EXIT_OK
    check = by_check(report, "consonance")["Mutation.updateMarketingText"]
    assert check["status"] == "warn" and 'internal_note_updates = "recreate" (configured)' in check["detail"]


def test_an_argument_consonance_lacks_is_named(world: SandboxWorld, deployment: dict[str, str], consonance_without: Any) -> None:
    consonance_without("Work.subjectCodes(mainOnly:)")

    code, report, _ = doctor(world, "--system", "consonance")

    assert code == EXIT_FAILED
    check = by_check(report, "consonance")["Work.subjectCodes(mainOnly:)"]
    # Only the analytics asks with that argument; the marketing workaround does not cover it.
    assert "used by AnalyticsWorks" in check["detail"] and "no setting works around it in AnalyticsWorks" in check["detail"]


def test_a_podcast_megaphone_does_not_have_fails(world: SandboxWorld, deployment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    podcasts = json.loads(deployment["MEGAPHONE_PODCASTS"])
    series = min(podcasts)
    monkeypatch.setenv("MEGAPHONE_PODCASTS", json.dumps({**podcasts, series: "NOT-A-PODCAST"}))

    code, report, _ = doctor(world, "--system", "megaphone")

    assert code == EXIT_FAILED
    check = by_check(report, "megaphone")[f"series {series}"]
    assert check["status"] == "fail" and "NOT-A-PODCAST is not in network" in check["detail"]
    assert by_check(report, "megaphone")["token"]["status"] == "ok"


def test_a_wrong_megaphone_network_fails(world: SandboxWorld, deployment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEGAPHONE_NETWORK_ID", "no-such-network")

    code, report, _ = doctor(world, "--system", "megaphone")

    assert code == EXIT_FAILED
    assert "no network no-such-network" in by_check(report, "megaphone")["network"]["detail"]


def test_an_account_never_authorised_fails(world: SandboxWorld, deployment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPOTIFY_ACCOUNTS", deployment["SPOTIFY_ACCOUNTS"] + ",ghost")

    code, report, _ = doctor(world, "--system", "spotify")

    assert code == EXIT_FAILED
    check = by_check(report, "spotify")["account ghost"]
    assert check["status"] == "fail" and "auth spotify --account ghost" in check["detail"]


def test_an_expiring_grant_warns_and_an_expired_one_fails(world: SandboxWorld, deployment: dict[str, str]) -> None:
    account = deployment["SPOTIFY_ACCOUNTS"].split(",")[0]
    store = world_store(world)
    original = store.load(account)
    assert original is not None
    accounts_simulator = world.spotify.accounts
    try:
        store.save(original.model_copy(update={"refresh_expires_at": utcnow() + timedelta(days=5)}))
        code, report, _ = doctor(world, "--system", "spotify")
        expiry = by_check(report, "spotify")[f"account {account}: expiry"]
        assert code == EXIT_OK and expiry["status"] == "warn" and "in 5 days" in expiry["detail"]

        # Six months on: the recorded expiry has passed and Spotify refuses the refresh token.
        accounts_simulator.refresh_token_lifetime = timedelta(0)
        store.save(original.model_copy(update={"refresh_expires_at": utcnow() - timedelta(days=1)}))
        code, report, _ = doctor(world, "--system", "spotify")
        checks = by_check(report, "spotify")
        assert code == EXIT_FAILED
        assert checks[f"account {account}: expiry"]["status"] == "fail" and "expired on" in checks[f"account {account}: expiry"]["detail"]
        assert checks[f"account {account}: refresh"]["status"] == "fail" and "refresh token was refused" in checks[f"account {account}: refresh"]["detail"]
    finally:
        accounts_simulator.refresh_token_lifetime = timedelta(days=182)
        latest = store.load(account)
        assert latest is not None
        store.save(latest.model_copy(update={"refresh_expires_at": original.refresh_expires_at}))


def test_missing_scopes_fail(world: SandboxWorld, deployment: dict[str, str]) -> None:
    account = deployment["SPOTIFY_ACCOUNTS"].split(",")[0]
    store = world_store(world)
    original = store.load(account)
    assert original is not None and len(original.scopes) > 1
    try:
        store.save(original.model_copy(update={"scopes": original.scopes[:1]}))
        code, report, _ = doctor(world, "--system", "spotify")
        check = by_check(report, "spotify")[f"account {account}: scopes"]
        assert code == EXIT_FAILED and check["status"] == "fail" and original.scopes[1] in check["detail"]
    finally:
        latest = store.load(account)
        assert latest is not None
        store.save(latest.model_copy(update={"scopes": original.scopes}))


def world_store(world: SandboxWorld) -> AccountAuthorisations:
    names = ResourceNames(world.resources.prefix)
    return AccountAuthorisations(lambda account: names.family_member(Secret.SPOTIFY_ACCOUNTS, account))


def test_a_refused_api_key_fails(world: SandboxWorld, deployment: dict[str, str]) -> None:
    route_host(CONSONANCE_HOST, ConsonanceSimulator(world.clock, world.catalogue, api_keys=[ApiKey(key="another-key", access="read_write")]))
    try:
        code, report, _ = doctor(world, "--system", "consonance")
    finally:
        route_host(CONSONANCE_HOST, world.consonance)

    assert code == EXIT_FAILED
    assert list(by_check(report, "consonance")) == ["API key"]
    assert by_check(report, "consonance")["API key"]["status"] == "fail"


def test_a_setting_the_deployment_lacks_is_named_before_anything_is_called(monkeypatch: pytest.MonkeyPatch) -> None:
    """cdk.json leaves megaphoneNetworkId empty: the check says which context key to set (no AWS needed)."""
    monkeypatch.delenv("MEGAPHONE_NETWORK_ID", raising=False)
    checks = run_checks(ResourceNames("doctor-test"), (System.MEGAPHONE,), PROJECT_ROOT, {})

    assert [(c.check, c.status) for c in checks] == [("settings", Status.FAIL)]
    assert "MEGAPHONE_NETWORK_ID" in checks[0].detail and "megaphoneNetworkId" in checks[0].detail


@pytest.mark.parametrize("stored", ["not-json-{secret}", '{{"client_id": "app", "client_sec": "{secret}"}}'])
def test_a_secret_of_the_wrong_shape_is_reported_without_its_value(stored: str) -> None:
    secret = "s3cr3t-value-never-printed"
    with pytest.raises(ValidationError) as raised:
        SpotifyCredentials.model_validate_json(stored.format(secret=secret))
    assert "input_value=" in str(raised.value) and "never-printed" in str(raised.value)  # pydantic quotes (part of) the input

    check = failed(System.SPOTIFY, "app credentials", raised.value)

    assert check.status is Status.FAIL and "SpotifyCredentials is malformed" in check.detail and "never-printed" not in check.detail

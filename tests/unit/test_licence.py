"""The branded-audio licence model: what Consonance's contracts make of a branded asset, which
licences are contradictory or incomplete, and where a licence stands in its lifecycle on any day."""

from __future__ import annotations

import json
import secrets
from datetime import date

import pytest

from functions.connectors.consonance.client import ConsonanceClient
from functions.connectors.http import HttpExchange, HttpService, route_host
from sandbox.catalogue import ApiKey, load_catalogue
from sandbox.clock import VirtualClock
from sandbox.simulators.consonance import ConsonanceSimulator

from functions.connectors.consonance.licence_mapping import licence_term, map_branded_asset
from functions.connectors.consonance.records import ContractRecord, ProductRecord
from functions.domain.licence import (
    BrandedAsset,
    BrandedConfig,
    LicenceApproval,
    LicenceChannel,
    LicenceTerm,
    Licensee,
    LifecycleState,
    channel_allowed,
    channels_on,
    is_worldwide,
    licence_findings,
    licence_windows,
    lifecycle,
)
from functions.domain.models import Territories
from functions.mapping_config import MappingConfig

HARBOUR = Licensee(name="Harbourline Hotels")
COPPER = Licensee(name="Copperleaf Coffee")
ALL_CHANNELS = tuple(LicenceChannel)


def term(
    contract_id: int = 1,
    starts: date | None = date(2027, 1, 1),
    ends: date | None = date(2027, 3, 1),
    licensee: Licensee | None = HARBOUR,
    channels: tuple[LicenceChannel, ...] = ALL_CHANNELS,
    approval: LicenceApproval = LicenceApproval.APPROVED,
    **extra: object,
) -> LicenceTerm:
    return LicenceTerm(contract_id=contract_id, licensee=licensee, starts_on=starts, ends_on=ends, channels=channels, approval=approval, **extra)


def asset(*terms: LicenceTerm, territories: Territories = Territories(worldwide=True)) -> BrandedAsset:
    return BrandedAsset(product_id=44901, work_id=3901, title="Lantern Quay", territories=territories, terms=terms)


def state_on(item: BrandedAsset, day: date, previous: LifecycleState | None = None, expiring_days: int = 14) -> LifecycleState:
    return lifecycle(item, licence_findings(item), day, expiring_days, previous=previous).state


# ------------------------------------------------------------------------------------- lifecycle
def test_an_approved_licence_is_scheduled_then_live_then_expiring_then_withdrawn() -> None:
    item = asset(term())
    assert state_on(item, date(2026, 12, 31)) is LifecycleState.SCHEDULED
    assert state_on(item, date(2027, 1, 1)) is LifecycleState.LIVE  # the window opens on its first day
    assert state_on(item, date(2027, 2, 14)) is LifecycleState.LIVE
    assert state_on(item, date(2027, 2, 15)) is LifecycleState.EXPIRING  # 14 days before the end
    assert state_on(item, date(2027, 2, 28)) is LifecycleState.EXPIRING
    decision = lifecycle(item, [], date(2027, 3, 1), 14)
    assert decision.state is LifecycleState.WITHDRAWN and decision.reason == "licence ended 2027-03-01"  # end exclusive


def test_not_approved_is_pending_and_says_which_contract() -> None:
    decision = lifecycle(asset(term(approval=LicenceApproval.PENDING)), [], date(2027, 1, 10), 14)
    assert decision.state is LifecycleState.PENDING and "contract 1" in decision.reason


def test_an_extension_before_the_end_moves_it_back_to_live_without_a_gap() -> None:
    extended = asset(term(ends=date(2027, 6, 1)))
    assert state_on(asset(term()), date(2027, 2, 20)) is LifecycleState.EXPIRING
    assert state_on(extended, date(2027, 2, 20), previous=LifecycleState.EXPIRING) is LifecycleState.LIVE


def test_a_new_contract_continuing_the_window_renews_without_a_gap() -> None:
    renewed = asset(term(), term(contract_id=2, starts=date(2027, 3, 1), ends=date(2027, 9, 1)))
    assert [(w.starts_on, w.ends_on) for w in licence_windows(renewed)] == [(date(2027, 1, 1), date(2027, 9, 1))]
    for day in (date(2027, 2, 28), date(2027, 3, 1), date(2027, 3, 2)):
        assert state_on(renewed, day, previous=LifecycleState.EXPIRING) is LifecycleState.LIVE


def test_a_gap_between_windows_withdraws_and_says_when_the_renewal_starts() -> None:
    gapped = asset(term(), term(contract_id=2, starts=date(2027, 4, 1), ends=date(2027, 9, 1)))
    decision = lifecycle(gapped, [], date(2027, 3, 15), 14, previous=LifecycleState.EXPIRING)
    assert decision.state is LifecycleState.WITHDRAWN and "renewal starts 2027-04-01" in decision.reason
    assert state_on(gapped, date(2027, 4, 1), previous=LifecycleState.WITHDRAWN) is LifecycleState.LIVE


def test_a_revoked_licence_is_withdrawn_at_once_with_its_reason() -> None:
    revoked = asset(term(approval=LicenceApproval.REVOKED, revoked_reason="campaign cancelled"))
    decision = lifecycle(revoked, licence_findings(revoked), date(2027, 1, 20), 14, previous=LifecycleState.LIVE)
    assert decision.state is LifecycleState.WITHDRAWN and "campaign cancelled" in decision.reason
    assert not channel_allowed(revoked, [], date(2027, 1, 20), LicenceChannel.VENUE)[0]


def test_blocking_findings_hold_a_licence_before_it_was_live_and_withdraw_it_after() -> None:
    incomplete = asset(term(ends=None))
    assert state_on(incomplete, date(2027, 1, 10)) is LifecycleState.PENDING
    assert state_on(incomplete, date(2027, 1, 10), previous=LifecycleState.LIVE) is LifecycleState.WITHDRAWN


# -------------------------------------------------------------------------------------- findings
@pytest.mark.parametrize(
    ("item", "code"),
    [
        (asset(), "licence_missing"),
        (asset(term(licensee=None)), "licence_without_licensee"),
        (asset(term(starts=None)), "licence_without_start"),
        (asset(term(ends=None)), "licence_without_end"),
        (asset(term(starts=date(2027, 3, 1), ends=date(2027, 3, 1))), "licence_window_ends_before_start"),
        (asset(term(unknown_rights=("Hologram rights",))), "licence_unknown_right"),
        (asset(term(), term(contract_id=2, licensee=COPPER, starts=date(2027, 2, 1), ends=date(2027, 5, 1))), "licence_licensees_overlap"),
        (asset(term(), territories=Territories(included=("GB",), excluded=("GB",))), "licence_territory_conflict"),
        (asset(term(), territories=Territories(included=("XX",))), "licence_no_territory"),
    ],
)
def test_contradictory_or_incomplete_licences_are_blocking_findings(item: BrandedAsset, code: str) -> None:
    findings = licence_findings(item)
    assert code in {f.code for f in findings}
    assert all(f.blocking for f in findings) and all(f.entity == "licence#44901" for f in findings)
    assert not any(channel_allowed(item, findings, date(2027, 1, 15), channel)[0] for channel in LicenceChannel)


def test_two_licensees_one_after_the_other_are_not_a_conflict() -> None:
    handover = asset(term(), term(contract_id=2, licensee=COPPER, starts=date(2027, 3, 1), ends=date(2027, 5, 1)))
    assert licence_findings(handover) == []


# -------------------------------------------------------------------------------------- channels
def test_channels_are_those_the_terms_covering_the_day_grant() -> None:
    item = asset(term(channels=(LicenceChannel.BRAND_SHOW,)), term(contract_id=2, starts=date(2027, 3, 1), ends=date(2027, 5, 1), channels=(LicenceChannel.VENUE,)))
    assert channels_on(item, date(2027, 2, 1)) == {LicenceChannel.BRAND_SHOW}
    assert channels_on(item, date(2027, 3, 1)) == {LicenceChannel.VENUE}
    allowed, why = channel_allowed(item, [], date(2027, 2, 1), LicenceChannel.VENUE)
    assert not allowed and "does not grant venue_delivery" in why


def test_a_licence_limited_to_gb_is_not_worldwide() -> None:
    assert not is_worldwide(asset(term(), territories=Territories(included=("GB",))))
    assert is_worldwide(asset(term()))


# ------------------------------------------------------------------------------- from Consonance
def contract(*rights: str, **fields: object) -> ContractRecord:
    return ContractRecord.model_validate(
        {"id": 7901, "contractName": "licence", "licensedRights": [{"id": i, "rightType": r} for i, r in enumerate(rights)], **fields}
    )


def test_a_contract_granting_channels_is_a_licence_term_read_through_the_rights_model() -> None:
    record = contract(
        "Brand show", "venue-delivery", "Music use", "Hologram rights",
        client={"name": "Harbourline Hotels"}, signedDate="2027-01-01", terminatedDate="2027-03-01", approvalStatus="Approved",
    )  # fmt: skip
    found = licence_term(record, MappingConfig())
    assert found is not None
    assert found.channels == (LicenceChannel.BRAND_SHOW, LicenceChannel.VENUE)
    assert found.rights == ("music_use",) and found.unknown_rights == ("Hologram rights",)
    assert found.licensee == HARBOUR and (found.starts_on, found.ends_on) == (date(2027, 1, 1), date(2027, 3, 1))
    assert found.approval is LicenceApproval.APPROVED


def test_a_contract_without_channels_is_not_a_licence() -> None:
    assert licence_term(contract("audio_adaptation", "music_use", client={"name": "Imogen Thale"}), MappingConfig()) is None


@pytest.mark.parametrize(
    ("fields", "approval"),
    [
        ({"approvalStatus": "pending"}, LicenceApproval.PENDING),
        ({"approvalStatus": None}, LicenceApproval.PENDING),
        ({"approvalStatus": "revoked"}, LicenceApproval.REVOKED),
        ({"approvalStatus": "approved", "terminationReason": "brand cancelled"}, LicenceApproval.REVOKED),
    ],
)
def test_approval_comes_from_the_inferred_contract_status(fields: dict[str, object], approval: LicenceApproval) -> None:
    found = licence_term(contract("Brand show", signedDate="2027-01-01", **fields), MappingConfig())
    assert found is not None and found.approval is approval


def test_the_signed_workaround_approves_a_signed_contract_without_the_inferred_field() -> None:
    config = MappingConfig(branded=BrandedConfig(licence_approval="signed"))
    signed = licence_term(contract("Brand show", signedDate="2027-01-01"), config)
    unsigned = licence_term(contract("Brand show"), config)
    assert signed is not None and signed.approval is LicenceApproval.APPROVED
    assert unsigned is not None and unsigned.approval is LicenceApproval.PENDING
    revoked = licence_term(contract("Brand show", signedDate="2027-01-01", terminationReason="ended early"), config)
    assert revoked is not None and revoked.approval is LicenceApproval.REVOKED and revoked.revoked_reason == "ended early"


def product(work_type: str, contracts: list[ContractRecord]) -> ProductRecord:
    return ProductRecord.model_validate(
        {
            "__typename": "ElectronicAudioProduct",
            "id": 44901,
            "title": "Lantern Quay",
            "isForSaleWorldwide": True,
            "work": {
                "id": 3901,
                "workType": work_type,
                "seriesMemberships": [{"id": 1, "partNumber": "1", "series": {"id": 9501, "name": "Harbourline Stories"}}],
                "contracts": [c.model_dump(by_alias=True) for c in contracts],
            },
        }
    )


def test_a_product_of_the_licensed_kind_is_a_branded_asset_with_its_licence() -> None:
    licence = contract("Brand show", client={"name": "Harbourline Hotels"}, signedDate="2027-01-01", terminatedDate="2027-03-01", approvalStatus="approved")
    mapped = map_branded_asset(product("branded_podcast", [licence, contract("audio_adaptation")]), MappingConfig())
    assert mapped is not None and mapped.asset.product_id == 44901 and mapped.episode.product_id == 44901
    assert [t.contract_id for t in mapped.asset.terms] == [7901] and mapped.asset.licensee == HARBOUR
    assert map_branded_asset(product("serialized_fiction", [licence]), MappingConfig()) is None
    no_licences = MappingConfig(branded=BrandedConfig(licensed_kinds=frozenset()))
    assert map_branded_asset(product("branded_podcast", [licence]), no_licences) is None


def test_a_brand_account_is_found_for_the_licensee_however_its_name_is_written() -> None:
    config = BrandedConfig(brand_accounts={"COPPERLEAF  coffee": "copper"})
    assert config.account_for(COPPER) == "copper" and config.account_for(HARBOUR) is None


# ------------------------------------------------------------------ the sweep's reads, on the simulator
def licence_part(exchange: HttpExchange) -> str:
    """The licence fragment of a query the connector sent (ProductionFile has an approvalStatus too)."""
    return str(json.loads(json.dumps(exchange.request_body))["query"]).split("fragment BrandedLicence", 1)[1]


def test_the_sweep_looks_at_work_kinds_lightly_then_reads_branded_products_in_full(
    virtual_clock: VirtualClock, exchanges: list[HttpExchange], cleared_routes: None
) -> None:
    key = secrets.token_urlsafe(16)
    simulator = ConsonanceSimulator(virtual_clock, load_catalogue(), requests_per_minute=None, api_keys=[ApiKey(key=key)])
    route_host("branded.consonance.test", simulator)
    client = ConsonanceClient(HttpService("consonance", "https://branded.consonance.test/graphql", lambda: {"Authorization": f"Bearer {key}"}))

    kinds = dict(client.iter_changed_product_kinds(date(2020, 1, 1)))
    assert kinds[44901] == "branded_podcast" and kinds[41001] == "serialized_fiction" and 42001 not in kinds  # audio only
    read = client.branded_products([44901, 44904])
    contracts = {c.id: c for c in read[44901].work.contracts}  # type: ignore[union-attr]
    assert contracts[7901].client is not None and contracts[7901].client.name == "Harbourline Hotels"
    assert contracts[7901].approval_status == "pending" and contracts[7900].client is None
    assert "approvalStatus" in licence_part(exchanges[-1])

    signed = client.branded_products([44901], contract_status=False)  # the workaround asks nothing inferred
    assert "approvalStatus" not in licence_part(exchanges[-1])
    assert {c.approval_status for c in signed[44901].work.contracts} == {None}  # type: ignore[union-attr]

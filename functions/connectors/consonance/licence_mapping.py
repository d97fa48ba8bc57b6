"""The ONE place where a Consonance product becomes a branded asset with its licence (the branded-audio
side of the mapping; `mapping.py` makes the same product an `Episode`). Configured by
`MappingConfig.branded` and the rights model's aliases.

| BrandedAsset / LicenceTerm field | from Consonance |
| --- | --- |
| which products | audio products (`config.audio_product_types`) whose `Work.workType` maps (`config.episode_kinds`) to a kind in `config.branded.licensed_kinds` (default: `branded_podcast`) |
| product_id, work_id, title, isbn13, territories | as for the episode (`map_product`): `Product.id`, `work.id`, title, ISBN, `isForSaleWorldwide` / `forSaleCountryCodes` / `notForSaleCountryCodes` |
| terms | each contract on the work (`Work.contracts`, inferred) with at least one licensed right that the rights model resolves to a channel (`brand_show`, `brand_playlist`, `venue_delivery`; aliases such as "Brand show", "Venue delivery") |
| licensee | `Contract.client.name` (the contract's party) |
| window | `[Contract.signedDate, Contract.terminatedDate)`, as the rights model reads every contract |
| rights, channels | the contract's `licensedRights[].rightType`, resolved by the rights model: channel types are channels, the rest rights; unknown types are reported (a blocking finding) |
| approval | revoked when `Contract.terminationReason` is set or the inferred `Contract.approvalStatus` is one of `revoked_licence_statuses`; approved when `approvalStatus` is one of `approved_licence_statuses` — or, with the workaround `licence_approval = "signed"`, when the contract has a signed date; else pending |
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from functions.connectors.consonance.mapping import map_product
from functions.connectors.consonance.records import ContractRecord, ProductRecord
from functions.domain.licence import BrandedAsset, LicenceApproval, LicenceChannel, LicenceTerm, Licensee
from functions.domain.models import Episode
from functions.domain.rights import CHANNEL_RIGHT_TYPES
from functions.mapping_config import MappingConfig


class MappedAsset(BaseModel):
    """A branded asset and the episode the same product maps to (what the channels deliver)."""

    model_config = ConfigDict(frozen=True)

    asset: BrandedAsset
    episode: Episode


def map_branded_asset(record: ProductRecord, config: MappingConfig) -> MappedAsset | None:
    """The product as a branded asset, or None when it is not one (see the module docstring)."""
    episode = map_product(record, config).episode
    if episode is None or episode.kind not in config.branded.licensed_kinds or record.work is None:
        return None
    terms = tuple(term for contract in record.work.contracts if (term := licence_term(contract, config)) is not None)
    asset = BrandedAsset(
        product_id=episode.product_id,
        work_id=episode.work_id,
        title=episode.title,
        isbn13=episode.isbn13,
        territories=episode.territories,
        terms=tuple(sorted(terms, key=lambda t: t.contract_id)),
    )
    return MappedAsset(asset=asset, episode=episode)


def licence_term(contract: ContractRecord, config: MappingConfig) -> LicenceTerm | None:
    """A contract as a licence term, or None when it grants no delivery channel."""
    policy, branded = config.rights, config.branded
    canonical = [(right.right_type.strip(), policy.canonical_right_type(right.right_type)) for right in contract.licensed_rights if right.right_type.strip()]
    channels = sorted({LicenceChannel(c) for _, c in canonical if c in CHANNEL_RIGHT_TYPES})
    if not channels:
        return None
    party = (contract.client.name or "").strip() if contract.client is not None else ""
    status = (contract.approval_status or "").strip().casefold()
    reason = (contract.termination_reason or "").strip()
    if reason or (branded.licence_approval == "contract_status" and status in {s.casefold() for s in branded.revoked_licence_statuses}):
        approval = LicenceApproval.REVOKED
    elif branded.licence_approval == "signed":
        approval = LicenceApproval.APPROVED if contract.signed_date is not None else LicenceApproval.PENDING
    else:
        approval = LicenceApproval.APPROVED if status in {s.casefold() for s in branded.approved_licence_statuses} else LicenceApproval.PENDING
    return LicenceTerm(
        contract_id=contract.id,
        name=contract.contract_name,
        licensee=Licensee(name=party) if party else None,
        starts_on=contract.signed_date,
        ends_on=contract.terminated_date,
        rights=tuple(sorted({c for _, c in canonical if c is not None and c not in CHANNEL_RIGHT_TYPES})),
        channels=tuple(channels),
        unknown_rights=tuple(sorted({raw for raw, c in canonical if c is None})),
        approval=approval,
        revoked_reason=(reason or (contract.approval_status or "").strip() or None) if approval is LicenceApproval.REVOKED else None,
    )

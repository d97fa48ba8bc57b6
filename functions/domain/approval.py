"""Approval: whether an episode may go to Spotify at all, judged on the domain episode alone.

Kept apart from the mapping (which knows Consonance's GraphQL records) so the publishing gate can ask
without loading the Consonance connector.
"""

from __future__ import annotations

from functions.domain.models import Episode
from functions.mapping_config import MappingConfig


def approval_blockers(episode: Episode, config: MappingConfig) -> list[str]:
    """Why the episode is not approved for distribution (empty when it is), in words for the ledger."""
    reasons: list[str] = []
    if episode.publishing_status_code not in config.approved_publishing_status_codes:
        allowed = "/".join(sorted(config.approved_publishing_status_codes))
        reasons.append(f"publishing status {episode.publishing_status_code or '(none)'} is not {allowed}")
    if not episode.allow_onix_exports:
        reasons.append("ONIX exports are not allowed")
    if episode.master_audio is None:
        reasons.append("no master audio file")
    else:
        if not episode.master_audio.approved:
            reasons.append("master audio is not approved")
        if not episode.master_audio.distribution_allowed:
            reasons.append("master audio distribution is not allowed")
    return reasons


def is_approved(episode: Episode, config: MappingConfig) -> bool:
    """Approved = publishing status forthcoming/active, ONIX exports allowed, master audio approved with
    distribution allowed (the design's definition; codes and values from `config`)."""
    return not approval_blockers(episode, config)

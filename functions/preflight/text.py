"""Title, subtitle, description and explicit flag as they will be pushed, against the platforms' limits.

The texts checked here are the ones the Megaphone projection sends (the description with the credits
line appended, which can make it longer than the mapping's own limit), after sanitising:
- title and subtitle are plain text (markup removed, entities decoded, whitespace collapsed); a
  missing or over-long title holds the episode (`validation.title_findings`, the mapping's rule); an
  over-long subtitle is cut at a word (non-blocking `subtitle_truncated`);
- the description goes through `validation.summary_with_findings` (the mapping's sanitiser and
  word-boundary truncation) with the platforms' limit, so the same rule applies at both ends.

Explicit content: Consonance's schema has no explicit-content (parental advisory) field on a product
or work, as far as the transcribed schema shows. The caller passes the flag when the mapping can
supply one (`explicit`), and otherwise `PreflightSettings.explicit_when_unstated` (inferred default:
not explicit) decides; the verdict says which (`explicit_source`). The value Megaphone receives comes
from `megaphone_explicit_values`, because the facts sheet leaves its vocabulary open.
"""

from __future__ import annotations

from functions.domain.models import Finding
from functions.domain.validation import plain_text, summary_with_findings, title_findings, truncate_at_word
from functions.preflight.findings import PreflightCode, as_preflight, preflight_finding
from functions.preflight.results import EpisodeText, TextVerdict
from functions.preflight.settings import PreflightSettings


def check_text(text: EpisodeText, *, product_id: int, settings: PreflightSettings) -> TextVerdict:
    found: list[Finding] = []
    title = plain_text(text.title)
    found += as_preflight(title_findings(title, product_id, settings.max_title_length))

    subtitle = plain_text(text.subtitle) if text.subtitle else None
    if subtitle and len(subtitle) > settings.max_subtitle_length:
        message = f"the subtitle is {len(subtitle)} characters; cut at a word to {settings.max_subtitle_length}"
        subtitle = truncate_at_word(subtitle, settings.max_subtitle_length)
        found.append(preflight_finding(PreflightCode.SUBTITLE_TRUNCATED, product_id, message))

    description, description_findings = summary_with_findings(text.description, settings.max_description_length, product_id)
    found += as_preflight(description_findings)

    explicit = text.explicit if text.explicit is not None else settings.explicit_when_unstated
    return TextVerdict(
        title=title,
        subtitle=subtitle or None,
        description=description,
        explicit=explicit,
        explicit_source="consonance" if text.explicit is not None else "setting",
        megaphone_explicit=settings.megaphone_explicit_values[explicit],
        findings=tuple(found),
    )

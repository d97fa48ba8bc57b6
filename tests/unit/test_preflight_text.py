"""Text pre-flight: the pushed title, subtitle and description within limits, and the explicit flag."""

from __future__ import annotations

from functions.preflight.settings import PreflightSettings
from functions.preflight.text import EpisodeText, check_text

SETTINGS = PreflightSettings()
PRODUCT = 6303


def check(settings: PreflightSettings = SETTINGS, **fields):
    return check_text(EpisodeText(**{"title": "Chapter One", **fields}), product_id=PRODUCT, settings=settings)


def test_clean_texts_pass_unchanged_and_explicit_comes_from_the_setting_when_consonance_is_silent():
    verdict = check(subtitle="The beginning", description="<p>It was a <em>dark</em> night.</p>")
    assert (verdict.title, verdict.subtitle, verdict.description) == ("Chapter One", "The beginning", "<p>It was a <em>dark</em> night.</p>")
    assert verdict.findings == ()
    assert (verdict.explicit, verdict.explicit_source, verdict.megaphone_explicit) == (False, "setting", "clean")


def test_an_explicit_flag_from_consonance_wins_and_maps_to_megaphone_s_vocabulary():
    verdict = check(explicit=True)
    assert (verdict.explicit, verdict.explicit_source, verdict.megaphone_explicit) == (True, "consonance", "explicit")
    settings = PreflightSettings(explicit_when_unstated=True, megaphone_explicit_values={True: "yes", False: "no"})
    assert check(settings, explicit=None).megaphone_explicit == "yes"
    assert check(settings, explicit=False).megaphone_explicit == "no"


def test_titles_are_plain_text_and_an_over_long_one_holds():
    assert check(title="  <b>Chapter</b>   One &amp; Two ").title == "Chapter One & Two"
    verdict = check(title="x" * 201)
    [finding] = verdict.findings
    assert (finding.code, finding.blocking, finding.flow, finding.entity) == ("title_too_long", True, "preflight", "episode#6303")
    assert finding.message == "title is 201 characters; the limit is 200"
    assert check(title="<i></i>").findings[0].code == "missing_title"


def test_an_over_long_subtitle_is_cut_at_a_word_without_holding():
    verdict = check(subtitle="word " * 60)
    assert verdict.subtitle is not None and len(verdict.subtitle) <= 255 and verdict.subtitle.endswith("word…")
    [finding] = verdict.findings
    assert (finding.code, finding.blocking) == ("subtitle_truncated", False)
    assert finding.message == "the subtitle is 299 characters; cut at a word to 255"


def test_the_description_is_sanitised_and_shortened_with_the_mapping_s_rule():
    verdict = check(description='<p onclick="x()">Hello</p><script>alert(1)</script>')
    assert verdict.description == "<p>Hello</p>"
    assert [(f.code, f.blocking, f.flow) for f in verdict.findings] == [("unsafe_description", False, "preflight")]

    long = "<p>" + "sentence " * 600 + "</p>"  # 5,407 characters: more than the 4,000 allowed
    verdict = check(description=long)
    assert len(verdict.description) <= 4000 and "<p>" not in verdict.description
    [finding] = verdict.findings
    assert (finding.code, finding.message) == (
        "summary_truncated",
        "description is longer than 4000 characters; published as shortened plain text",
    )

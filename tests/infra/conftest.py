"""Session fixture: the stack is synthesized once for every infra test (see synthesis.py)."""

from __future__ import annotations

import pytest

from tests.infra.synthesis import SynthesizedStack, synthesize


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedStack:
    layer_stand_in = tmp_path_factory.mktemp("layer")
    (layer_stand_in / "python").mkdir()
    (layer_stand_in / "python" / "layer_stand_in.py").write_text('"""Stands in for the pip-built layer."""\n')
    return synthesize(layer_stand_in, tmp_path_factory.mktemp("cdk.out"))

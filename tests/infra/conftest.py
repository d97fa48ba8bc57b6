"""Session fixtures: the stack is synthesized once per configuration for every infra test (see
synthesis.py), with a tiny stand-in layer and the real functions' code, both compiled by CPython 3.12
like the real build."""

from __future__ import annotations

import pytest

from infra.bytecode import BytecodeInterpreter, find_interpreter
from tests.infra.synthesis import Assets, SynthesizedStack, build_assets, synthesize


@pytest.fixture(scope="session")
def bytecode_interpreter() -> BytecodeInterpreter:
    """CPython 3.12, as `make synth` finds it; its absence fails these tests as it fails the build."""
    return find_interpreter()


@pytest.fixture(scope="session")
def assets(tmp_path_factory: pytest.TempPathFactory, bytecode_interpreter: BytecodeInterpreter) -> Assets:
    return build_assets(tmp_path_factory.mktemp("assets"), bytecode_interpreter)


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory, assets: Assets) -> SynthesizedStack:
    """cdk.json's defaults: SnapStart off."""
    return synthesize(assets, tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def synthesized_snap_start(tmp_path_factory: pytest.TempPathFactory, assets: Assets) -> SynthesizedStack:
    """`-c snapStart=true`: every flow on a published version behind the `live` alias (cdk-nag included)."""
    return synthesize(assets, tmp_path_factory.mktemp("cdk.out.snapstart"), {"snapStart": True})

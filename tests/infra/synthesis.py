"""One synthesis of the stack for the whole test session (synthesis plus cdk-nag costs several seconds).

The layer asset is a tiny stand-in directory, so these tests never depend on pip downloads; the
real layer is built by `make synth` (app.py). The stand-in and the functions' code are compiled by
CPython 3.12 exactly as app.py compiles the real ones (a second or two), because the stack refuses
assets without bytecode. The context is cdk.json's, with the settings a real
deployment must provide filled in, except `megaphonePodcasts`, left unset on purpose so the
missing-setting warning can be checked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import App, Aspects, Stack, cx_api
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from infra.bytecode import BytecodeInterpreter, compile_tree
from infra.deployment_context import load_cdk_json_context
from infra.function_code import stage_function_code
from infra.flows import FLOWS
from infra.layer import LAYER_RUNTIME_PATH
from infra.layer_groups import groups_used
from infra.stack import PROJECT_ROOT, STACK_NAME, ConsonanceSpotifyStack

TEST_CONTEXT_OVERRIDES: dict[str, Any] = {
    "megaphoneNetworkId": "network-under-test",
    "consonanceMapping": {"max_title_length": 120},
    "spotifyApiUrl": "https://api.spotify.test/v1",
    "spotifyMarkets": ["gb", "US", "ie"],
    "spotifyRatePerMinute": 90,
    "webhookToleranceSeconds": 120,
    "spotifyAccounts": ["publisher", "northwind-brand"],
}


@dataclass(frozen=True)
class Assets:
    layer: Path  # holds python/layer_stand_in.py and its bytecode
    functions: Path  # holds the staged functions/ package
    group_layers: dict[str, Path]  # a stand-in per dependency group the declarations name


def stand_in_layer(directory: Path, interpreter: BytecodeInterpreter, what: str) -> Path:
    (directory / "python").mkdir(parents=True)
    (directory / "python" / "layer_stand_in.py").write_text(f'"""Stands in for the pip-built {what}."""\n')
    compile_tree(interpreter, directory / "python", LAYER_RUNTIME_PATH)
    return directory


def build_assets(directory: Path, interpreter: BytecodeInterpreter) -> Assets:
    return Assets(
        layer=stand_in_layer(directory / "layer", interpreter, "layer"),
        functions=stage_function_code(PROJECT_ROOT, directory / "functions", interpreter=interpreter),
        group_layers={
            group.name: stand_in_layer(directory / f"layer-{group.name}", interpreter, f"{group.name} layer") for group in groups_used(FLOWS)
        },
    )


@dataclass(frozen=True)
class SynthesizedStack:
    stack: ConsonanceSpotifyStack
    template: Template
    resources: dict[str, dict[str, Any]]
    messages: list[cx_api.SynthesisMessage]
    assembly_directory: Path

    def logical_id(self, construct: Any) -> str:
        """Logical id of an L2 construct's CloudFormation resource."""
        return Stack.of(construct).get_logical_id(construct.node.default_child)

    def resource(self, construct: Any) -> dict[str, Any]:
        return self.resources[self.logical_id(construct)]

    def properties(self, construct: Any) -> dict[str, Any]:
        return self.resource(construct)["Properties"]


def synthesize(assets: Assets, outdir: Path, context_overrides: dict[str, Any] | None = None, nag: bool = True) -> SynthesizedStack:
    """The stack over `assets` with cdk.json's context, TEST_CONTEXT_OVERRIDES and `context_overrides`."""
    context = {**load_cdk_json_context(PROJECT_ROOT), **TEST_CONTEXT_OVERRIDES, **(context_overrides or {})}
    app = App(outdir=str(outdir), context=context)
    stack = ConsonanceSpotifyStack(
        app, STACK_NAME, layer_asset_path=assets.layer, function_asset_path=assets.functions, group_layer_paths=assets.group_layers
    )
    if nag:
        Aspects.of(app).add(AwsSolutionsChecks())
    assembly = app.synth()

    artifact = assembly.get_stack_artifact(stack.artifact_id)
    template_json = json.loads(Path(artifact.template_full_path).read_text())
    return SynthesizedStack(
        stack=stack,
        template=Template.from_json(template_json),
        resources=template_json["Resources"],
        messages=list(artifact.messages),
        assembly_directory=Path(assembly.directory),
    )


def referenced_logical_ids(value: Any) -> set[str]:
    """Every resource a CloudFormation expression points at (Ref / Fn::GetAtt), at any depth."""
    if isinstance(value, dict):
        if "Ref" in value:
            return {value["Ref"]}
        if "Fn::GetAtt" in value:
            return {value["Fn::GetAtt"][0]}
        return set().union(*(referenced_logical_ids(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(referenced_logical_ids(v) for v in value))
    return set()

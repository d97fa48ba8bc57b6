#!/usr/bin/env python3
"""CDK app entry: `python app.py` (make synth) or `cdk synth` / `cdk deploy` (cdk.json runs this).

Builds the dependency layer and each dependency group's layer (infra/layer_groups.py) with pip (cached,
no Docker) and stages the functions' code, all with
CPython 3.12 bytecode (infra/bytecode.py finds the interpreter; `LAMBDA_BYTECODE_PYTHON` overrides),
prints each function's unzipped size (code + layers; infra/function_size.py), builds the
ConsonanceSpotify stack — which refuses a function over Lambda's 250 MB — runs cdk-nag AwsSolutions
over it and synthesizes into cdk.out (or $CDK_OUTDIR). Exits non-zero when a function is too large or any
error annotation remains, an unsuppressed nag finding in particular, because `python app.py` does
not fail on its own the way the CDK CLI does.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from aws_cdk import App, Aspects, Environment, cx_api
from cdk_nag import AwsSolutionsChecks

from infra.bytecode import BytecodeBuildError, find_interpreter
from infra.deployment_context import DeploymentContextError, load_cdk_json_context
from infra.flows import FLOWS
from infra.function_code import stage_function_code
from infra.function_size import FunctionTooLarge, function_sizes, size_table
from infra.layer import LayerBuildError, build_dependency_layer
from infra.layer_groups import UnknownLayerGroup, build_group_layers
from infra.stack import STACK_NAME, ConsonanceSpotifyStack

PROJECT_ROOT = Path(__file__).resolve().parent
LAYER_ROOT = PROJECT_ROOT / "build" / "layer"
GROUP_LAYERS_ROOT = PROJECT_ROOT / "build"  # build/layer-<group> (infra/layer_groups.py)
FUNCTION_CODE_ROOT = PROJECT_ROOT / "build" / "functions"


def deployment_environment() -> Environment | None:
    """Account/region from the CDK CLI's defaults when present, else an environment-agnostic stack."""
    account = os.environ.get("CDK_DEFAULT_ACCOUNT")
    region = os.environ.get("CDK_DEFAULT_REGION")
    return Environment(account=account, region=region) if account or region else None


def main() -> int:
    started = time.monotonic()
    try:  # first: a malformed cdk.json stops synthesis before minutes of layer building
        context = load_cdk_json_context(PROJECT_ROOT)
    except DeploymentContextError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        interpreter = find_interpreter()
        layer_root = build_dependency_layer(PROJECT_ROOT / "requirements.txt", LAYER_ROOT, interpreter=interpreter)
        group_layers = build_group_layers(PROJECT_ROOT, GROUP_LAYERS_ROOT, FLOWS, interpreter=interpreter)
        function_code = stage_function_code(PROJECT_ROOT, FUNCTION_CODE_ROOT, interpreter=interpreter)
    except (LayerBuildError, BytecodeBuildError, UnknownLayerGroup) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"bytecode: {interpreter.fingerprint} ({interpreter.path})", file=sys.stderr)
    # Each function's unzipped size (code + its layers), printed always; the stack refuses one over 250 MB.
    print(size_table(function_sizes(FLOWS, function_code, layer_root, group_layers)), file=sys.stderr)

    app = App(outdir=os.environ.get("CDK_OUTDIR", str(PROJECT_ROOT / "cdk.out")), context=context)
    try:
        stack = ConsonanceSpotifyStack(
            app,
            STACK_NAME,
            layer_asset_path=layer_root,
            function_asset_path=function_code,
            group_layer_paths=group_layers,
            env=deployment_environment(),
        )
    except (FunctionTooLarge, DeploymentContextError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    assembly = app.synth()

    messages = assembly.get_stack_artifact(stack.artifact_id).messages
    errors = [m for m in messages if m.level == cx_api.SynthesisMessageLevel.ERROR]
    for message in messages:
        if message.level == cx_api.SynthesisMessageLevel.WARNING:
            print(f"warning: {message.id}: {message.entry.data}", file=sys.stderr)
    for message in errors:
        print(f"error: {message.id}: {message.entry.data}", file=sys.stderr)
    elapsed = time.monotonic() - started
    if errors:
        print(f"synth failed: {len(errors)} error annotation(s) in {STACK_NAME} ({elapsed:.1f} s)", file=sys.stderr)
        return 1
    print(f"synthesized {STACK_NAME} into {assembly.directory} in {elapsed:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

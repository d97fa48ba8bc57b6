"""One cold start, timed inside a fresh Lambda-like interpreter (run by bench/cold_start.py, never imported).

`python3.12 -S -P bench/cold_start_child.py '<job as JSON>'` with only the staged function code and
the layer on PYTHONPATH. It times, with CPU and wall clocks, what a Lambda execution environment does
before its handler can serve the first event, and prints one JSON line:

- "baseline": `import boto3` and one DynamoDB client.
- "flow": import the handler's module, then build what the flow uses, as its first invocation does:
  the parts of functions/dependencies.Dependencies its declaration implies (repositories,
  connectors, which read their secrets), one boto3 client per AWS service it calls and one httpx
  client per HTTP API. Secrets Manager answers in process (a botocore `before-send` hook returns the
  GetSecretValue response), so the request is built, signed and its answer parsed, but no byte
  leaves the machine; nothing else has an endpoint to reach.
- "code": run a snippet (the bench's what-if variants).

Standard library only at module level: the child must not import anything the measured code would.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from typing import Any


class _Body:
    """The raw stream botocore reads a response body from."""

    def __init__(self, content: bytes) -> None:
        self._content = content

    def stream(self, **_: Any) -> Any:
        yield self._content


def _answer_secrets_in_process(values: dict[str, str], region: str) -> None:
    import boto3
    from aws_lambda_powertools.utilities.parameters import constants, secrets
    from botocore.awsrequest import AWSResponse

    def get_secret_value(request: Any, **_: Any) -> Any:
        secret_id = json.loads(request.body)["SecretId"]
        body = {
            "ARN": f"arn:aws:secretsmanager:{region}:123456789012:secret:{secret_id}",
            "Name": secret_id,
            "SecretString": values[secret_id],
            "VersionId": "bench",
            "VersionStages": ["AWSCURRENT"],
        }
        headers = {"x-amzn-requestid": "bench", "content-type": "application/x-amz-json-1.1"}
        return AWSResponse(request.url, 200, headers, _Body(json.dumps(body).encode()))

    client = boto3.client("secretsmanager")
    client.meta.events.register("before-send.secrets-manager.GetSecretValue", get_secret_value)
    constants.DEFAULT_PROVIDERS["secrets"] = secrets.SecretsProvider(boto3_client=client)  # the providers `get_secret` uses


def _build_flow_clients(job: dict[str, Any]) -> dict[str, int]:
    import boto3

    plan = job["plan"]
    if plan["secrets"]:
        _answer_secrets_in_process(plan["secrets"], job["region"])
    # the flow's platform dependencies as its execution environment builds them (functions/flow_template.py)
    platform = importlib.import_module("functions.dependencies").Dependencies(
        importlib.import_module("functions.settings").FlowSettings(importlib.import_module("functions.flow_declarations").flow(job["flow"]))
    )
    for factory in plan["factories"]:
        part = getattr(platform, factory)
        if callable(part):
            part()
    for service in plan["aws_services"]:
        boto3.client(service)
    if plan["http_clients"]:
        import httpx

        for _ in range(plan["http_clients"]):
            httpx.Client(timeout=httpx.Timeout(10.0))
    return {"factories": len(plan["factories"]), "aws_clients": len(plan["aws_services"]) + bool(plan["secrets"]), "http_clients": plan["http_clients"]}


def main() -> None:
    job = json.loads(sys.argv[1])
    built: dict[str, int] = {}
    error = None
    import_cpu_ms = None
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        if job["kind"] == "baseline":
            import boto3

            import_cpu_ms = (time.process_time() - cpu) * 1000
            boto3.client("dynamodb", region_name=job["region"])
        elif job["kind"] == "flow":
            importlib.import_module(job["module"])
            import_cpu_ms = (time.process_time() - cpu) * 1000
            built = _build_flow_clients(job)
        else:
            exec(compile(job["code"], "<what-if>", "exec"), {})
    except BaseException as exc:  # reported to the bench, which names the flow that failed
        error = f"{type(exc).__name__}: {exc}"
    wall_ms, cpu_ms = (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000
    print(json.dumps({"wall_ms": wall_ms, "cpu_ms": cpu_ms, "import_cpu_ms": import_cpu_ms, "error": error, "built": built}))
    _leave_without_teardown()


def _leave_without_teardown() -> None:
    """Exit at once, output flushed: tearing down the interpreter (every module and object the flow
    loaded) is no part of a cold start and cost a quarter of a flow child's CPU, outside the timed part."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()

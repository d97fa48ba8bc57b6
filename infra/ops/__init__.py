"""Operations CLI: `python -m infra.ops <command>`.

It reaches AWS through boto3 exactly as deployed — or the sandbox's moto server, when
`AWS_ENDPOINT_URL` points at it — and finds every resource by its physical name (infra/naming.py,
`--prefix`, default "consonance-spotify"), so it needs no CloudFormation access.

    python -m infra.ops dlq list [--flow NAME] [--json]          (a count per reason per queue, then the messages)
    python -m infra.ops dlq redrive FLOW [--dry-run] [--limit N] [--json]
    python -m infra.ops availability PRODUCT_ID_OR_ISBN [--json]
    python -m infra.ops plan [--product ID ...] [--today YYYY-MM-DD] [--json]
    python -m infra.ops backfill (--series ID | --released-from D --released-to D | --all) [--per-minute N] [--json]
    python -m infra.ops replay ENTITY [--wait S] [--quiet S] [--json]      (episode#ID, series#ID or a product id)
    python -m infra.ops auth spotify --account NAME [--port N] [--no-browser] [--json]
    python -m infra.ops distribution [--failing] [--product ID ...] [--json]
    python -m infra.ops promo briefs [--contributor ID] [--json]
    python -m infra.ops promo brief --contributor ID --from YYYY-MM-DD --to YYYY-MM-DD [--label TEXT]
    python -m infra.ops promo playlists [--json]
    python -m infra.ops doctor [--system consonance|megaphone|spotify ...] [--json]
    python -m infra.ops analytics report [--from D] [--to D] [--by author|genre|series|title] [--athena | --store DIR] [--output FILE]

Exit codes: 0 done; 1 not found (no such queue, product or ISBN); 2 usage (bad arguments, no AWS
region); 3 AWS refused a call or some messages could not be redriven; 4 the command's own check or
action failed (an authorisation denied, a doctor finding, `distribution --failing` found a product failing,
a replayed step failed or did not settle). Backfill, replay and the grouped `dlq list`: docs/operations.md.
"""

"""`make bench` / `python -m bench`: the issue's speed and call-count figures.

- cold_start.py  — handler import + its clients in fresh CPython 3.12 (Lambda-like, with and without
                   bytecode) vs `import boto3` + one client, every flow screened, the heaviest
                   confirmed; cold_start_child.py runs inside each
- overhead.py    — the publisher's handler time per event, AWS in process and simulators at zero latency
- backfill.py    — a 2,000-episode backfill, a title change and an unchanged re-sync in the sandbox
- figures.py     — measurements → figures with target, pass/miss and a note; results.py prints and writes them
- harness only (no figure depends on them): aws.py (moto in process, moto speed-ups),
  simulator_indexes.py (indexed Consonance simulator look-ups), lambda_timeouts.py (Lambda's
  timeouts enforced), instrument.py (call logs and AWS call counts), catalogue.py (the synthetic catalogue)
"""

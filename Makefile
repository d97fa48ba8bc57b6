# Everything runs from the project's own virtual environment, created on first use.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.requirements-installed
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 20

.PHONY: demo test check synth bench install bytecode clean

$(STAMP): requirements.txt requirements-analytics.txt requirements-dev.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

## make bytecode: the project's own modules compiled for the venv's Python (up-to-date ones are skipped).
## Where the environment sets PYTHONDONTWRITEBYTECODE (this machine's does), Python never caches them,
## and every process (the demo, each test worker, each bench part) would compile all it imports (~0.6 s).
bytecode: $(STAMP)
	$(PY) -m compileall -q functions sandbox infra bench app.py

## make demo: run the whole system on the local sandbox with the sample catalogue and print a summary
## (and write the listening-analytics report to reports/analytics.html)
demo: $(STAMP) bytecode
	$(PY) -m sandbox run --days 7 --seed 7 --report reports/demo-report.json --http-log reports/demo-http.jsonl --analytics-report reports/analytics.html

## make test: the static checks, then the whole suite (unit, integration on moto + simulators, infra,
## end to end, conformance) on TEST_WORKERS processes (pytest-xdist; each test module, or the modules
## sharing a session run, on one)
TEST_WORKERS ?= 2
test: check bytecode
	$(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadgroup

## make check: the linter (ruff) and the type checker (mypy); configured in pyproject.toml, see docs/checks.md
check: $(STAMP)
	$(PY) -m ruff check
	$(PY) -m mypy

## make synth: CloudFormation templates into cdk.out (layer built without Docker, cdk-nag checks)
synth: $(STAMP)
	$(PY) app.py

## make bench: speed and call-count figures, printed and written to bench/results.json
bench: $(STAMP) bytecode
	$(PY) -m bench

clean:
	rm -rf cdk.out build reports bench/results.json .pytest_cache .mypy_cache .ruff_cache

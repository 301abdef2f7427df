# dynkube: `make demo` runs the tour against a local real control plane; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed-dev

.PHONY: demo test unit integration faults envtest-up envtest-down fixtures bench clean

$(INSTALLED): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q -e '.[dev]'
	touch $@

envtest-up:
ifndef DYNKUBE_TEST_KUBECONFIG
	scripts/envtest up
endif

envtest-down:
	scripts/envtest down

demo: $(INSTALLED) envtest-up
	$(VPY) scripts/demo.py

test: $(INSTALLED) envtest-up
	$(VPY) -m pytest -q

unit: $(INSTALLED)
	$(VPY) -m pytest -q tests/unit

integration: $(INSTALLED) envtest-up
	$(VPY) -m pytest -q tests/integration tests/faults

fixtures: $(INSTALLED) envtest-up
	$(VPY) scripts/record_fixtures.py

bench: $(INSTALLED) envtest-up
	$(VPY) -m pip install -q -e '.[bench]'
	$(VPY) benchmarks/run.py

clean:
	scripts/envtest down
	rm -rf $(VENV) .pytest_cache

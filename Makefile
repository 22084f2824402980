# The two entry points the README names. Both bootstrap first (idempotent).
VENV := .venv
ARGS ?=

.PHONY: bootstrap run test unit

bootstrap:
	./scripts/bootstrap.sh

# The default job: Debian's linux-source-7.3, both arches, default workloads.
run: bootstrap
	$(VENV)/bin/pt-harness run $(ARGS)

# The whole test suite: unit tests and the end-to-end boots.
test: bootstrap
	$(VENV)/bin/python -m pytest -v -ra $(ARGS)

# Unit tests only (no kernel build, no QEMU): seconds.
unit: bootstrap
	$(VENV)/bin/python -m pytest -v -m "not e2e" $(ARGS)

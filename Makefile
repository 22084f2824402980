# The two entry points the README names. Both bootstrap first (idempotent).
VENV := .venv
ARGS ?=

.PHONY: bootstrap run test unit soak test-base

bootstrap:
	./scripts/bootstrap.sh

# The default job: Debian's linux-source-7.3, both arches, default workloads.
run: bootstrap
	$(VENV)/bin/pt-harness run $(ARGS)

# The whole test suite: unit tests and the end-to-end boots.
test: bootstrap
	$(VENV)/bin/python -m pytest -v -ra $(ARGS)

# The modules that build, boot and drive the guest, whose logic the unit
# tests run with fakes (tests/test_suite_stages.py, test_guest_side.py).
ORCHESTRATION := suite/runner suite/stages guest/boot guest/guest guest/image commands/shell guest/terminal proc guest/keys errors
empty :=
space := $(empty) $(empty)
comma := ,
COVERAGE_INCLUDE := $(subst $(space),$(comma),$(ORCHESTRATION:%=harness/%.py))

# Unit tests only (no kernel build, no QEMU): seconds. Then their line
# coverage of the orchestration modules.
unit: bootstrap
	$(VENV)/bin/python -m coverage run -m pytest -v -m "not e2e" $(ARGS); status=$$?; \
	$(VENV)/bin/python -m coverage report --include="$(COVERAGE_INCLUDE)"; exit $$status

# The debug-config soak on both arches (DEBUG_VM, lockdep, page table check):
# long. `make test` runs a short one on the regular build.
soak: bootstrap
	PT_HARNESS_SOAK_DEBUG=1 PT_HARNESS_SOAK_ARCHES="x86_64 arm64" \
	PT_HARNESS_SOAK_ROUNDS=$${ROUNDS:-10} $(VENV)/bin/python -m pytest -v tests/test_soak.py

# The end-to-end test with the unpatched base kernel too (two more builds).
test-base: bootstrap
	PT_HARNESS_E2E_BASE=1 $(VENV)/bin/python -m pytest -v tests/test_e2e.py

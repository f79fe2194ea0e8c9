# Soak run (tests/soak/soak.py), included by the Makefile.  `make soak` is long (SOAK_COUNT=1000
# deployments, 10-12 minutes here) and not part of `make check`, which runs check-soak-smoke.
SOAK_COUNT ?= 1000
.PHONY: soak check-soak-smoke
soak: all deps-check
	@$(PYTHON) tests/soak/soak.py --build $(B) --count $(SOAK_COUNT)
check-soak-smoke: all deps-check
	@mkdir -p $(B)/results
	@echo "== soak smoke: 20 deployments, restart after 10"
	@$(PYTHON) tests/soak/soak.py --build $(B) --count 20 --restart 10 --warmup 5 \
		--results $(B)/results/soak-smoke

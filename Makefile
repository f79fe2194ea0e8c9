# cdagent: one non-recursive Makefile (see README).
#   make            build build/codedeploy-agent and build/codedeploy-local
#   make check      install missing deps, then unit tests, sanitizer unit tests, end-to-end tests
#   make demo       deploy examples/sample-app locally (see README)
VERSION   := 0.1.0
PREFIX    ?= /usr
DESTDIR   ?=
PKGS      := libcurl openssl libcjson yaml-0.1 libarchive libsystemd
PYTHON    ?= /usr/bin/python3

CC        ?= cc
WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wformat=2 -Wvla -Wpointer-arith -Wcast-qual -Wundef -Wimplicit-fallthrough
# Recursive (=) so pkg-config runs only after the dependency bootstrap below has installed it.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))
CFLAGS    ?= -O2 -g
ALL_CFLAGS = -std=gnu11 -D_GNU_SOURCE -DCDAGENT_VERSION='"$(VERSION)"' $(WARN) \
             -Iagent -MMD -MP $(PKG_CFLAGS) $(CFLAGS)
LDLIBS     = $(PKG_LIBS) -lpthread
SAN        := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

B         := build
LAYERS    := base sys parse net aws deploy hook run cli
AGENT_SRC := $(sort $(filter-out agent/cli/main.c,$(wildcard $(LAYERS:%=agent/%/*.c))))
UNIT_SRC  := $(sort $(wildcard tests/unit/*.c))
AGENT_OBJ := $(AGENT_SRC:%.c=$(B)/obj/%.o)
UNIT_OBJ  := $(UNIT_SRC:%.c=$(B)/obj/%.o)
SAN_AGENT_OBJ := $(AGENT_SRC:%.c=$(B)/san/%.o)
SAN_UNIT_OBJ  := $(UNIT_SRC:%.c=$(B)/san/%.o)
TOOLS_SRC := $(sort $(wildcard tests/tools/*.c))
TOOLS     := $(TOOLS_SRC:tests/tools/%.c=$(B)/tools/%)
STAMP     := $(B)/.deps-build

.PHONY: tools all check check-unit check-unit-san check-e2e check-system check-lint deps deps-check lint format \
        format-check install clean \
        demo bench rpm dist
all: $(B)/codedeploy-agent $(B)/codedeploy-local

# Dependency bootstrap: installs missing libraries and tools (apt-get or dnf).
$(STAMP): scripts/deps.sh
	@mkdir -p $(B)
	@sh scripts/deps.sh build
	@touch $@
deps: $(STAMP)
deps-check:
	@PYTHON=$(PYTHON) sh scripts/deps.sh check

$(B)/obj/%.o: %.c | $(STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@
$(B)/san/%.o: %.c | $(STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN) -c $< -o $@

$(B)/libcdagent.a: $(AGENT_OBJ)
	@rm -f $@
	ar rcs $@ $^
$(B)/libcdagent-san.a: $(SAN_AGENT_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/codedeploy-agent: $(B)/obj/agent/cli/main.o $(B)/libcdagent.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(B)/codedeploy-local: $(B)/codedeploy-agent
	ln -sf codedeploy-agent $@

$(B)/unit-tests: $(UNIT_OBJ) $(B)/libcdagent.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(B)/unit-tests-san: $(SAN_UNIT_OBJ) $(B)/libcdagent-san.a
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS)

# Small test drivers (tests/tools/NAME.c -> build/tools/NAME) that e2e tests run against the library.
$(B)/tools/%: $(B)/obj/tests/tools/%.o $(B)/libcdagent.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
tools: $(TOOLS)

# Each suite writes "N passed, M failed" to build/results/<suite>; scripts/summary.sh adds them up.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
check: deps-check
	@rm -rf $(B)/results
	@$(MAKE) -k -j$(JOBS) --no-print-directory all tools $(B)/unit-tests $(B)/unit-tests-san || true
	@$(MAKE) -k --no-print-directory check-unit check-unit-san check-e2e check-system check-lint || true
	@sh scripts/summary.sh $(B)/results unit unit-san e2e system lint

check-unit: $(B)/unit-tests
	@mkdir -p $(B)/results
	@echo "== unit tests"
	@CDAGENT_SRC=$(CURDIR) $(B)/unit-tests --results $(B)/results/unit

check-unit-san: $(B)/unit-tests-san
	@mkdir -p $(B)/results
	@echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
	@CDAGENT_SRC=$(CURDIR) ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
		$(B)/unit-tests-san --results $(B)/results/unit-san

check-e2e: all tools deps-check
	@mkdir -p $(B)/results
	@echo "== end-to-end tests"
	@$(PYTHON) tests/e2e/run.py --build $(B) --results $(B)/results/e2e

# The AL2023 RPM built and checked, then installed where systemd is PID 1 (tests/system).
check-system: deps-check
	@mkdir -p $(B)/results
	@echo "== system tests (RPM for AL2023; systemd as PID 1 in systemd-nspawn)"
	@$(PYTHON) tests/system/run.py --version $(VERSION) --build $(B) --results $(B)/results/system

demo: all
	@sh scripts/deps.sh demo
	@sh examples/demo.sh $(B)

bench: all
	@PYTHON=$(PYTHON) sh scripts/deps.sh bench
	@sh bench/run.sh $(B)

# Checks are in .clang-tidy; any finding fails.  clang-tidy runs once per file: given several
# files, clang-tidy 14 reports false valist.Uninitialized findings in all but the first (LLVM
# bug 41311).  Every file is checked even after a failure, so one run lists all findings.
lint: | $(STAMP)
	@sh scripts/deps.sh lint
	@sh scripts/layers.sh $(LAYERS)
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
		--inline-suppr --std=c11 -D_GNU_SOURCE -Iagent agent tests/unit
	@JOBS=$(JOBS) sh scripts/tidy.sh $(AGENT_SRC) agent/cli/main.c -- \
		$(filter-out -MMD -MP,$(ALL_CFLAGS))

# The lint and the format check as a suite of make check: build/results/lint.
check-lint:
	@mkdir -p $(B)/results
	@echo "== lint (layers, cppcheck, clang-tidy) and format check"
	@p=0; f=0; \
	if $(MAKE) --no-print-directory lint; then p=$$((p+1)); else f=$$((f+1)); fi; \
	if $(MAKE) --no-print-directory format-check; then p=$$((p+1)); else f=$$((f+1)); fi; \
	echo "$$p passed, $$f failed" > $(B)/results/lint

FORMAT_SRC = $(wildcard agent/*/*.c agent/*/*.h tests/unit/*.c tests/unit/*.h tests/tools/*.c)
format:
	@sh scripts/deps.sh lint
	clang-format -i $(FORMAT_SRC)
# Fails when a file differs from what `make format` makes of it (.clang-format).
format-check:
	@sh scripts/deps.sh lint
	@clang-format --dry-run --Werror $(FORMAT_SRC) 2>&1 | grep -m 20 'error:' ; \
	if clang-format --dry-run --Werror $(FORMAT_SRC) >/dev/null 2>&1; then \
		echo "format: every file is as .clang-format makes it"; \
	else echo "format: files differ from .clang-format; run make format" >&2; exit 1; fi

install: all
	install -d $(DESTDIR)/opt/codedeploy-agent/bin $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(B)/codedeploy-agent $(DESTDIR)/opt/codedeploy-agent/bin/codedeploy-agent
	ln -sf codedeploy-agent $(DESTDIR)/opt/codedeploy-agent/bin/codedeploy-local
	ln -sf /opt/codedeploy-agent/bin/codedeploy-agent $(DESTDIR)$(PREFIX)/bin/codedeploy-agent
	ln -sf /opt/codedeploy-agent/bin/codedeploy-local $(DESTDIR)$(PREFIX)/bin/codedeploy-local
	install -d $(DESTDIR)/opt/codedeploy-agent/hooks
	for h in hooks/*; do [ -f "$$h" ] && install -m 0755 "$$h" $(DESTDIR)/opt/codedeploy-agent/hooks/; done; true

clean:
	rm -rf $(B)

-include $(TOOLS_SRC:%.c=$(B)/obj/%.d)
-include $(AGENT_OBJ:.o=.d) $(UNIT_OBJ:.o=.d) $(SAN_AGENT_OBJ:.o=.d) $(SAN_UNIT_OBJ:.o=.d) \
         $(B)/obj/agent/cli/main.d

# Source tarball of the git tree and the RPM for Amazon Linux 2023 (see packaging/README.md).
dist:
	@sh scripts/dist.sh $(VERSION) $(B)
rpm:
	@sh scripts/deps.sh rpm >&2
	@sh scripts/rpm.sh $(VERSION) $(B) $(RPMBUILD_OPTS)

# libFuzzer targets (tests/fuzz/README.md), included by the Makefile.  clang builds the agent
# library a third time with ASan + UBSan + fuzzer coverage into $(B)/fuzz; `make fuzz` runs every
# target for FUZZ_SECONDS and writes "N passed, M failed" to $(B)/results/fuzz.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_SRC     := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS    := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)
FUZZ_AGENT_OBJ := $(AGENT_SRC:%.c=$(B)/fuzz/obj/%.o)

$(B)/fuzz/obj/%.o: %.c | $(STAMP)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(ALL_CFLAGS) -Itests/fuzz $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c $< -o $@
$(B)/fuzz/libcdagent.a: $(FUZZ_AGENT_OBJ)
	@rm -f $@
	ar rcs $@ $^
$(B)/fuzz/fuzz_%: $(B)/fuzz/obj/tests/fuzz/fuzz_%.o $(B)/fuzz/libcdagent.a
	$(FUZZ_CC) $(CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)
.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@mkdir -p $(B)/results
	@sh tests/fuzz/run.sh $(B) $(FUZZ_SECONDS) $(B)/results/fuzz $(FUZZ_BINS)

-include $(FUZZ_AGENT_OBJ:.o=.d) $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/obj/tests/fuzz/%.d)
.SECONDARY: $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/obj/tests/fuzz/%.o)

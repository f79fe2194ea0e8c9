# ThreadSanitizer build (tests/tsan/run.sh), included by the Makefile: the agent, its tools and
# the unit tests built again with -fsanitize=thread into $(B)/tsan, so tests/e2e/run.py can run
# daemon tests against it with --build $(B)/tsan.
TSAN_FLAGS     := -fsanitize=thread -fno-omit-frame-pointer
TSAN_AGENT_OBJ := $(AGENT_SRC:%.c=$(B)/tsan/obj/%.o)
TSAN_UNIT_OBJ  := $(UNIT_SRC:%.c=$(B)/tsan/obj/%.o)
TSAN_BINS      := $(B)/tsan/codedeploy-agent $(B)/tsan/codedeploy-local $(B)/tsan/unit-tests \
                  $(TOOLS:$(B)/tools/%=$(B)/tsan/tools/%)

$(B)/tsan/obj/%.o: %.c | $(STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(TSAN_FLAGS) -c $< -o $@
$(B)/tsan/libcdagent.a: $(TSAN_AGENT_OBJ)
	@rm -f $@
	ar rcs $@ $^
$(B)/tsan/codedeploy-agent: $(B)/tsan/obj/agent/cli/main.o $(B)/tsan/libcdagent.a
	$(CC) $(CFLAGS) $(TSAN_FLAGS) -o $@ $^ $(LDLIBS)
$(B)/tsan/codedeploy-local: $(B)/tsan/codedeploy-agent
	ln -sf codedeploy-agent $@
$(B)/tsan/unit-tests: $(TSAN_UNIT_OBJ) $(B)/tsan/libcdagent.a
	$(CC) $(CFLAGS) $(TSAN_FLAGS) -o $@ $^ $(LDLIBS)
$(B)/tsan/tools/%: $(B)/tsan/obj/tests/tools/%.o $(B)/tsan/libcdagent.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(TSAN_FLAGS) -o $@ $^ $(LDLIBS)

.PHONY: tsan-build check-tsan
tsan-build: $(TSAN_BINS)
check-tsan: tsan-build deps-check
	@mkdir -p $(B)/results
	@PYTHON=$(PYTHON) CDAGENT_SRC=$(CURDIR) sh tests/tsan/run.sh $(B) $(B)/results

-include $(TSAN_AGENT_OBJ:.o=.d) $(TSAN_UNIT_OBJ:.o=.d) $(B)/tsan/obj/agent/cli/main.d \
         $(TOOLS_SRC:%.c=$(B)/tsan/obj/%.d)

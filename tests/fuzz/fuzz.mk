# Fuzzing and sanitizers; included by the top-level Makefile.
#
#   make fuzz-build     the libFuzzer harnesses (tests/fuzz/fuzz_*.c) in build/fuzz/
#   make fuzz           runs each harness for FUZZ_SECONDS (default 60) from its
#                       committed seed corpus (tests/fuzz/corpus/HARNESS/), prints
#                       executions and coverage per harness, and fails if any
#                       crashed; crash inputs go to build/fuzz/artifacts/, logs to
#                       build/fuzz/logs/. `make -j4 fuzz` runs four at a time.
#   make fuzz-replay    runs each harness once over its committed corpus (quick)
#   make sanitize       the unit and integration tests built and run with ASan and
#                       UBSan, in build/asan (sanitize-unit, sanitize-integration)
#
# The harnesses and the project sources they link are compiled with clang
# -fsanitize=fuzzer,address,undefined (Debian: clang, libclang-rt-14-dev).

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_DIR := tests/fuzz
FUZZ_OUT := $(OUT)/fuzz
FUZZ_HARNESSES := $(patsubst $(FUZZ_DIR)/%.c,%,$(wildcard $(FUZZ_DIR)/fuzz_*.c))
FUZZ_BINS := $(addprefix $(FUZZ_OUT)/,$(FUZZ_HARNESSES))
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
# The project's own flags, less optimisation and _FORTIFY_SOURCE (whose
# checked string functions ASan would not see into); clang 14 has no
# -Wformat-truncation to turn off.
FUZZ_CFLAGS := $(filter-out -O% -D_FORTIFY_SOURCE=% -Wno-format-truncation,$(ALL_CFLAGS)) \
	-O1 -g -U_FORTIFY_SOURCE -Wno-format-nonliteral \
	$(FUZZ_SAN) -I$(FUZZ_DIR)
FUZZ_LIB_OBJS := $(patsubst %.c,$(FUZZ_OUT)/obj/%.o,$(LIB_SRCS))
FUZZ_LIB := $(FUZZ_OUT)/libminerwatch-fuzz.a
# -timeout: an input running this long (s) is a hang, reported as a crash.
FUZZ_FLAGS ?= -timeout=10 -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1

.PHONY: fuzz fuzz-build fuzz-replay fuzz-force sanitize sanitize-unit sanitize-integration

fuzz-build: $(FUZZ_BINS)

# libFuzzer and the sanitizer runtimes are a separate package on Debian.
$(FUZZ_OUT)/toolcheck:
	$(Q)mkdir -p $(FUZZ_OUT)
	$(Q)printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' \
		> $@.c
	$(Q)$(FUZZ_CC) -fsanitize=fuzzer,address,undefined $@.c -o $@ 2>/dev/null || { \
		echo "fuzz: $(FUZZ_CC) cannot link -fsanitize=fuzzer,address,undefined: install" \
			"libclang-rt-14-dev (Debian 12) or compiler-rt (dnf)" >&2; rm -f $@; exit 1; }

# Project sources: coverage instrumentation, but not libFuzzer's main().
$(FUZZ_OUT)/obj/%.o: %.c $(SKEL) $(wildcard user/*/*.h) $(BPF_HDRS)
	$(call msg,FUZZCC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_LIB): $(FUZZ_LIB_OBJS) | $(FUZZ_OUT)/toolcheck
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_OUT)/fuzz_%: $(FUZZ_DIR)/fuzz_%.c $(wildcard $(FUZZ_DIR)/*.h) $(FUZZ_LIB)
	$(call msg,FUZZLD,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(LDHARDEN) $< $(FUZZ_LIB) $(BPF_LIBS) \
		$(LIBS) -o $@

# One run per harness: new inputs go to build/fuzz/corpus/HARNESS (the
# committed corpus is only read), the exit status to build/fuzz/logs/.
fuzz-run-%: $(FUZZ_OUT)/% fuzz-force
	$(Q)sh $(FUZZ_DIR)/run-harness.sh $(FUZZ_OUT) $* $(FUZZ_SECONDS) $(FUZZ_FLAGS)

fuzz: $(addprefix fuzz-run-,$(FUZZ_HARNESSES))
	$(Q)sh $(FUZZ_DIR)/summary.sh $(FUZZ_OUT) $(FUZZ_HARNESSES)

fuzz-replay: $(FUZZ_BINS)
	$(Q)mkdir -p $(FUZZ_OUT)/logs
	$(Q)set -e; for h in $(FUZZ_HARNESSES); do \
		log=$(FUZZ_OUT)/logs/$$h.replay.log; \
		if $(FUZZ_OUT)/$$h -runs=0 $(FUZZ_DIR)/corpus/$$h >$$log 2>&1; then \
			echo "  REPLAY   $$h: $$(ls $(FUZZ_DIR)/corpus/$$h | wc -l) inputs ok"; \
		else \
			echo "  REPLAY   $$h: FAILED, see $$log" >&2; exit 1; \
		fi; \
	done

fuzz-force:

# The unit tests under ASan and UBSan. The test link line passes CFLAGS, so
# the sanitizers reach both compile and link; UBSan findings are made fatal.
# CFLAGS comes after the project's warnings: clang 14 does not know
# -Wno-format-truncation, and -Wformat=2 makes it flag the vprintf in the
# libbpf print callback (gcc exempts va_list functions); the tests split
# string literals on purpose, to end a \x escape ("a\xc2\x9b" "31m").
SAN_OUT := $(OUT)/asan
SAN_CC ?= clang
SAN_CFLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer -U_FORTIFY_SOURCE -Wno-unknown-warning-option \
	-Wno-format-nonliteral -Wno-string-concatenation

SAN_ENV := ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# The integration tests run the sanitized daemon, CLI and tools (MW_BUILD) on
# the real kernel; a leak at exit makes the daemon's exit status non-zero,
# which the tests check. Packaging, the container image and the deployment
# files are about the release build and are left to `make test`.
SAN_PYTEST_SKIP := --ignore=tests/integration/test_packages.py \
	--ignore=tests/integration/test_container_mode.py \
	--ignore=tests/integration/test_deploy_artifacts.py

sanitize: sanitize-unit sanitize-integration

sanitize-unit:
	$(Q)$(SAN_ENV) $(MAKE) --no-print-directory OUT=$(SAN_OUT) CC='$(SAN_CC)' \
		CFLAGS='$(SAN_CFLAGS)' unit

sanitize-integration:
	$(Q)$(MAKE) --no-print-directory OUT=$(SAN_OUT) CC='$(SAN_CC)' CFLAGS='$(SAN_CFLAGS)' \
		LDFLAGS='-fsanitize=address,undefined' all
	$(Q)$(SAN_ENV) MW_SANITIZED=1 MW_BUILD=$(abspath $(SAN_OUT)) $(PYTHON) -m pytest -v $(SAN_PYTEST_SKIP) \
		tests/integration

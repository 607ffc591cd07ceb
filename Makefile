# lightsout — GNU make. `make`, `make test`, `make asan`, `make fuzz`,
# `make bench`, `make demo`. See README.md.

PKGS      := libcurl jansson libmicrohttpd sqlite3
TEST_PKGS := cmocka

CC      ?= cc
BUILD   ?= build
BINDIR  ?= bin
LIBDIR  ?= lib
SAN     ?=
SANFLAG := -fsanitize=address,undefined

# Missing development packages are installed by scripts/install-deps before
# anything is compiled (it is idempotent and says what it installs).
ifeq ($(filter clean distclean help,$(MAKECMDGOALS)),)
ifneq ($(shell pkg-config --exists $(PKGS) $(TEST_PKGS) && echo ok),ok)
$(info lightsout: development packages missing; running scripts/install-deps)
DEPS_STATUS := $(shell scripts/install-deps >&2 && echo ok)
ifneq ($(DEPS_STATUS),ok)
$(error scripts/install-deps failed; install the packages it names and retry)
endif
endif
endif

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-unused-parameter -Wformat=2 -Wvla
CSTD    := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
OPT     ?= -O2 -g
ifeq ($(SAN),1)
OPT     := -O1 -g $(SANFLAG) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS  += $(CSTD) $(WARN) $(OPT) -Iinclude -Isrc $(PKG_CFLAGS) -MMD -MP
LDFLAGS += $(if $(filter 1,$(SAN)),$(SANFLAG))
LDLIBS  += $(PKG_LIBS) -lpthread -lm

LIB_SRC  := $(sort $(wildcard src/base/*.c src/net/*.c src/llm/*.c src/twin/*.c \
              src/agent/*.c src/agent/tools/*.c src/pipeline/*.c src/pipeline/handlers/*.c \
              src/gate/*.c src/ledger/*.c src/server/*.c))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
# the starters of `lightsout init`, carried in the binary (scripts/embed)
INIT_FILES := $(sort $(wildcard data/init/*/*))
CLI_OBJ  += $(BUILD)/obj/gen/init_files.o
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
LIB      := $(LIBDIR)/liblightsout.a
BIN      := $(BINDIR)/lightsout

.PHONY: all test test-slow test-agents unit e2e asan fuzz fuzz-run bench demo clean help check-tools
all: $(BIN) $(LIB)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/gen/init_files.c: $(INIT_FILES) scripts/embed
	@mkdir -p $(dir $@)
	scripts/embed data/init $@ $(INIT_FILES)

$(BUILD)/obj/gen/init_files.o: $(BUILD)/gen/init_files.c src/cli/init_files.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIB) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(shell pkg-config --cflags cmocka) -Itests/unit $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS) $(shell pkg-config --libs cmocka)

# The whole default suite through prove: C unit tests (cmocka, TAP output)
# and end-to-end CLI tests (shell, TAP). Stays under five minutes.
PROVE ?= prove
test: $(BIN) $(TEST_BIN)
	LIGHTSOUT=$(abspath $(BIN)) CMOCKA_MESSAGE_OUTPUT=TAP LO_TESTDATA=$(abspath tests/data) \
	  LIGHTSOUT_MODELS=$(abspath data/models.json) \
	  $(PROVE) --exec '' --timer $(TEST_BIN) $(sort $(wildcard tests/e2e/*.t))

# Slower checks (long fuzz smoke runs, big inputs). CI runs it too.
test-slow: $(BIN) $(TEST_BIN)
	LIGHTSOUT=$(abspath $(BIN)) LO_TESTDATA=$(abspath tests/data) \
	  LIGHTSOUT_MODELS=$(abspath data/models.json) \
	  $(PROVE) --exec '' --timer $(sort $(wildcard tests/slow/*.t))

# The real CLI agents (claude, codex, gemini, opencode) against the twins,
# installed from npm at the versions tests/agents/package.json pins into
# build/agents (never globally); a failed install leaves them skipped.
# `npm install` on the lock file, not `npm ci`: opencode lists a binary
# package per platform as optional, the lock holds only the ones that
# resolve, and `npm ci` refuses a lock without the others. Not
# in `make test`: it needs the npm registry and a few minutes.
test-agents: $(BIN)
	@mkdir -p build/agents
	@if cmp -s tests/agents/package.json build/agents/package.json && \
	    [ -x build/agents/node_modules/.bin/claude ]; then :; else \
	  cp tests/agents/package.json tests/agents/package-lock.json build/agents/ && \
	  (cd build/agents && npm install --no-audit --no-fund --loglevel=error) || \
	  echo "test-agents: npm could not install the agents; they are skipped"; fi
	LIGHTSOUT=$(abspath $(BIN)) LIGHTSOUT_MODELS=$(abspath data/models.json) \
	  $(PROVE) --exec '' --timer $(sort $(wildcard tests/agents/*.t))

unit: $(TEST_BIN)
	CMOCKA_MESSAGE_OUTPUT=TAP LO_TESTDATA=$(abspath tests/data) \
	  LIGHTSOUT_MODELS=$(abspath data/models.json) $(PROVE) --exec '' $(TEST_BIN)

# AddressSanitizer + UndefinedBehaviorSanitizer over the whole suite, in its
# own build tree so it never mixes objects with the normal build.
asan:
	$(MAKE) CC=clang SAN=1 BUILD=build/asan BINDIR=build/asan/bin LIBDIR=build/asan/lib test

# libFuzzer targets (clang). `make fuzz-run FUZZ_SECONDS=600` runs each one.
# The library is compiled once for all targets (fuzzer-no-link), each
# target's own file links against it.
FUZZ_BIN := $(FUZZ_SRC:fuzz/%.c=build/fuzz/%)
FUZZ_OBJ := $(LIB_SRC:%.c=build/fuzz/obj/%.o)
FUZZ_CFLAGS := $(CSTD) -g -O1 -Iinclude -Isrc $(PKG_CFLAGS) -MMD -MP
fuzz: $(FUZZ_BIN)
build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -c $< -o $@
build/fuzz/liblightsout-fuzz.a: $(FUZZ_OBJ)
	rm -f $@
	ar rcs $@ $(FUZZ_OBJ)
build/fuzz/%: fuzz/%.c build/fuzz/liblightsout-fuzz.a
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< \
	  build/fuzz/liblightsout-fuzz.a $(PKG_LIBS) -lpthread -lm
FUZZ_SECONDS ?= 60
fuzz-run: fuzz
	@for f in $(FUZZ_BIN); do \
	  n=$$(basename $$f); mkdir -p build/fuzz/corpus-$$n build/fuzz/artifacts; \
	  echo "== $$n for $(FUZZ_SECONDS)s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -timeout=5 -rss_limit_mb=2048 \
	    -artifact_prefix=build/fuzz/artifacts/$$n- \
	    build/fuzz/corpus-$$n fuzz/corpus/$$n || exit 1; \
	done

bench: $(BIN)
	bench/run

# The main job. Until the engine lands it validates and renders the examples.
demo: $(BIN)
	scripts/demo

clean:
	rm -rf build bin lib

help:
	@echo "make            build bin/lightsout and lib/liblightsout.a"
	@echo "make test       the whole suite through prove (under five minutes)"
	@echo "make test-slow  the slow checks"
	@echo "make test-agents  the real claude/codex/gemini CLIs against the twins (skips missing ones)"
	@echo "make asan       the suite under ASan + UBSan (clang)"
	@echo "make fuzz       build the libFuzzer targets; make fuzz-run FUZZ_SECONDS=N runs them"
	@echo "make bench      benchmarks; figures go to docs/PERFORMANCE.md"
	@echo "make demo       the demo"

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
-include $(TEST_BIN:=.d)
-include $(FUZZ_OBJ:.o=.d)

# pollserv - busy-polling chat/echo server and the instruments to measure it.
# Plain GNU make, no configure step.  The user's CFLAGS/CPPFLAGS/LDFLAGS are
# kept; the language level and warnings are always added.

PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
DESTDIR	?=

CC	?= cc
CFLAGS	?= -O2 -g
WARN	 = -std=c11 -Wall -Wextra -Wpedantic -Wformat=2
ALL_CPPFLAGS = -Iinclude -Ibench -D_DEFAULT_SOURCE $(CPPFLAGS)
ALL_CFLAGS   = $(WARN) -pthread $(CFLAGS)
ALL_LDFLAGS  = $(LDFLAGS)
# liburing (2.3 or later) for the io_uring drivers; tests/ensure-deps.sh
# installs liburing-dev.  Looked up once, with a fallback so an odd
# pkg-config setup still links.
URING_CFLAGS := $(shell pkg-config --cflags liburing 2>/dev/null)
URING_LIBS   := $(shell pkg-config --libs liburing 2>/dev/null || echo -luring)
ALL_CPPFLAGS += $(URING_CFLAGS)
LDLIBS	+= $(URING_LIBS)
# hiredis (the chat bus, src/bus.c): Debian's libhiredis-dev.  Looked up
# when a recipe runs, after `deps` may have installed it.
HIREDIS_CFLAGS = $(shell pkg-config --cflags hiredis 2>/dev/null || echo -I/usr/include/hiredis)
HIREDIS_LIBS   = $(shell pkg-config --libs hiredis 2>/dev/null || echo -lhiredis)
ALL_CPPFLAGS += $(HIREDIS_CFLAGS)
LDLIBS	+= $(HIREDIS_LIBS)

# SANITIZE=1 builds everything again under ASan+UBSan in its own tree, so
# the two builds never mix objects.
# BUILD lets several checkouts-in-one (or parallel workers) keep apart.
BUILD	?= build
ifeq ($(SANITIZE),1)
O	 = $(BUILD)/san
ALL_CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer \
	       -fno-sanitize-recover=undefined
ALL_LDFLAGS += -fsanitize=address,undefined
else
O	 = $(BUILD)/plain
endif

SERVER_SRC = $(wildcard src/*.c)
SERVER_OBJ = $(SERVER_SRC:%.c=$(O)/%.o)
LIB_OBJ	   = $(filter-out $(O)/src/main.o,$(SERVER_OBJ))

# The load generator: bench/loadgen.c holds main(), the other lg_*.c files
# are its library (unit-tested), and it shares net.c with the server.
LOADGEN_SRC = $(wildcard bench/lg_*.c)
LOADGEN_OBJ = $(LOADGEN_SRC:%.c=$(O)/%.o)
LOADGEN_LIB = $(LOADGEN_OBJ) $(O)/src/net.o $(O)/src/parse.o

TEST_SRC  = $(wildcard tests/check_*.c) tests/testutil.c tests/harness.c
TEST_OBJ  = $(TEST_SRC:%.c=$(O)/%.o)
TEST_BIN  = $(O)/tests/check_pollserv

all: pollserv bench/loadgen $(O)/bench/floor

# ./pollserv and bench/loadgen are copies of the plain build, wherever
# BUILD puts it; a sanitizer build never overwrites them.  They are real
# targets, so a stale copy is replaced whenever the build is newer.
ifneq ($(SANITIZE),1)
pollserv: $(O)/pollserv FORCE
	@cmp -s $< $@ || cp -f $< $@

bench/loadgen: $(O)/bench/loadgen FORCE
	@cmp -s $< $@ || cp -f $< $@
else
pollserv: $(O)/pollserv
bench/loadgen: $(O)/bench/loadgen
.PHONY: pollserv bench/loadgen
endif

$(O)/pollserv: $(SERVER_OBJ)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(SERVER_OBJ) $(LDLIBS)

$(O)/bench/loadgen: $(O)/bench/loadgen.o $(LOADGEN_LIB)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS) -lm

$(O)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

FORCE:


# --- tests ---------------------------------------------------------------
# Check's flags are looked up when the recipe runs, after `deps` may have
# installed it.  The tests know where the binaries under test live.
CHECK_CFLAGS = $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   = $(shell pkg-config --libs check 2>/dev/null)
TEST_DEFS    = -DPOLLSERV_BIN='"$(CURDIR)/$(O)/pollserv"' \
	       -DLOADGEN_BIN='"$(CURDIR)/$(O)/bench/loadgen"' \
	       -DTESTS_DIR='"$(CURDIR)/tests"' \
	       -DNOIOURING_BIN='"$(CURDIR)/$(O)/tests/noiouring"' \
	       -DPOLLSERV_FORTIFY_BIN='"$(CURDIR)/$(O)/pollserv-fortify"'

# The select scale test also runs a server built with _FORTIFY_SOURCE=2
# (which needs -O2), so an FD_SET past FD_SETSIZE would abort, not corrupt.
FORTIFY_OBJ = $(SERVER_SRC:%.c=$(O)/fortify/%.o)
TEST_EXTRA += $(O)/pollserv-fortify

$(O)/pollserv-fortify: $(FORTIFY_OBJ)
	$(CC) $(ALL_CFLAGS) -O2 $(ALL_LDFLAGS) -o $@ $(FORTIFY_OBJ) $(LDLIBS)

$(O)/fortify/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2 $(ALL_CFLAGS) -O2 -MMD -MP -c -o $@ $<

# Hardening (issue 6).  failalloc.so is an LD_PRELOAD shim whose realloc
# fails past a size, for the out-of-memory tests; it is built without the
# sanitizers so it can sit in front of either server build.
TEST_EXTRA += $(O)/tests/failalloc.so

# faultshim.so: random EAGAIN, EINTR and short reads and writes in every
# server the integration table starts, on its second pass (run-tests.sh);
# for --io uring, short sends in the ring (it wraps liburing's submits).
TEST_EXTRA += $(O)/tests/faultshim.so

# noiouring: runs a program with io_uring_setup refused by seccomp, for
# the "io_uring unavailable" tests.
TEST_EXTRA += $(O)/tests/noiouring

$(O)/tests/noiouring: tests/noiouring.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) $(LDFLAGS) -o $@ $<

# Both shims get the user's CPPFLAGS, CFLAGS and LDFLAGS, not the
# sanitizers: they sit in front of either server build.
$(O)/tests/%.so: tests/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(URING_CFLAGS) $(WARN) $(CFLAGS) $(LDFLAGS) -fPIC -shared -o $@ $< -ldl

$(O)/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(TEST_DEFS) $(CHECK_CFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(TEST_BIN): $(TEST_OBJ) $(LIB_OBJ) $(LOADGEN_OBJ)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS) -lm

deps:
	@sh tests/ensure-deps.sh

# Two steps: deps first (it may install Check), then a fresh make that can
# see Check's flags.
check: deps
	@$(MAKE) --no-print-directory test-binaries
	@sh tests/run-tests.sh $(TEST_BIN) $(O)/pollserv $(O)/tests/faultshim.so

test-binaries: $(O)/pollserv $(O)/bench/loadgen $(TEST_BIN) $(TEST_EXTRA)

# --- hardening: fuzz, soak, valgrind ------------------------------------
# `make fuzz FUZZ_SECONDS=N` builds the libFuzzer harness for the chat input
# path with clang and runs it on a copy of the seed corpus; a crash or leak
# fails it and the input is saved under tests/fuzz/regressions/ (replayed
# by `make check` from then on).  `make soak` (SOAK_SECONDS per scenario and
# driver) and `make valgrind` (30 s under valgrind) are the long runs.
FUZZ_SECONDS ?= 60
FUZZ_CC	     ?= clang

fuzz:
	@FUZZ_CC='$(FUZZ_CC)' FUZZ_SECONDS='$(FUZZ_SECONDS)' \
	    FUZZ_OUT='$(BUILD)/fuzz' \
	    FUZZ_CPPFLAGS='$(URING_CFLAGS) $(HIREDIS_CFLAGS)' \
	    FUZZ_LIBS='$(URING_LIBS) $(HIREDIS_LIBS)' sh tests/fuzz/run-fuzz.sh

soak:
	@$(MAKE) --no-print-directory SANITIZE=1 $(BUILD)/san/pollserv \
	    $(BUILD)/san/bench/loadgen
	@sh tests/soak.sh $(BUILD)/san/pollserv $(BUILD)/san/bench/loadgen

valgrind: $(O)/pollserv
	@sh tests/valgrind-run.sh $(O)/pollserv

# --- bench ---------------------------------------------------------------
# The floor is a lone program (libc only): one recv and one send per message.
$(O)/bench/floor: $(O)/bench/floor.o
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LDLIBS)

# The library peers: tiny echo servers on libevent and libuv, built only
# when pkg-config finds the library (bench-deps.sh installs both).
$(O)/bench/peers/echo_%: bench/peers/echo_%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $$(pkg-config --cflags $*) $(ALL_CFLAGS) \
	    $(ALL_LDFLAGS) -o $@ $< $$(pkg-config --libs $*)

bench-peers:
	@for lib in libevent libuv; do \
		if pkg-config --exists $$lib; then \
			$(MAKE) --no-print-directory $(O)/bench/peers/echo_$$lib || exit 1; \
		else \
			echo "bench: $$lib not found by pkg-config: no echo_$$lib peer row"; \
		fi; \
	done

# bench-deps installs gnuplot, ncat, socat, libevent-dev and libuv1-dev as
# root, or says how; compare skips what is missing.  BENCH_FLAGS passes
# options, e.g. --quick.  Two steps, like check: the peers are built after
# bench-deps may have installed their libraries.
bench: all $(O)/bench/floor
	@sh bench/bench-deps.sh
	@$(MAKE) --no-print-directory bench-peers
	POLLSERV=$(O)/pollserv LOADGEN=$(O)/bench/loadgen FLOOR=$(O)/bench/floor \
	    PEERS=$(O)/bench/peers bench/compare $(BENCH_FLAGS)

# --- install -------------------------------------------------------------
install: pollserv
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 755 pollserv $(DESTDIR)$(BINDIR)/pollserv
	install -m 644 docs/pollserv.1 $(DESTDIR)$(MANDIR)/man1/pollserv.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/pollserv $(DESTDIR)$(MANDIR)/man1/pollserv.1

clean:
	rm -rf $(BUILD) pollserv bench/loadgen

.PHONY: all check deps test-binaries bench bench-peers install uninstall clean \
	fuzz soak valgrind FORCE

-include $(SERVER_OBJ:.o=.d) $(LOADGEN_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(O)/bench/loadgen.d \
	   $(O)/bench/floor.d $(FORTIFY_OBJ:.o=.d)

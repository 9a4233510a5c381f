#!/bin/sh
# run-fuzz.sh - build the fuzz_chat libFuzzer harness and run it for a while.
# Used by `make fuzz` (FUZZ_SECONDS, FUZZ_CC, FUZZ_OUT come from there).  The
# seed corpus in tests/fuzz/corpus is only read; new inputs go to a copy in
# FUZZ_OUT.  A crash, leak, timeout or out-of-memory input is copied into
# tests/fuzz/regressions/, which `make check` replays, and the run fails.
set -u
cd "$(dirname "$0")/../.."
secs=${FUZZ_SECONDS:-60}
cc=${FUZZ_CC:-clang}
out=${FUZZ_OUT:-build/fuzz}
bin=$out/fuzz_chat

# Artifacts of an earlier run were kept already (or fixed): start clean.
rm -rf "$out/artifacts"
mkdir -p "$out/corpus" "$out/artifacts"
flags="-std=c11 -g -O1 -Iinclude -D_DEFAULT_SOURCE -fno-omit-frame-pointer
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
srcs=$(ls src/*.c | grep -v '^src/main\.c$')

# A fresh machine may have gcc only.
if ! command -v "$cc" >/dev/null 2>&1; then
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "fuzz: installing clang"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang \
		    >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1;
		    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang \
		    >/dev/null 2>&1; }
	fi
	if ! command -v "$cc" >/dev/null 2>&1; then
		echo "fuzz: $cc not found; install it: apt-get install clang" >&2
		exit 1
	fi
fi

# libFuzzer ships with clang's runtime; Debian splits it into its own
# package on some releases.  Install it when we can, else say how.
probe=$out/probe.c
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' >"$probe"
if ! $cc -fsanitize=fuzzer "$probe" -o "$out/probe" 2>/dev/null; then
	ver=$($cc --version 2>/dev/null | sed -n 's/.*clang version \([0-9]*\).*/\1/p')
	pkg="libclang-rt-${ver:-14}-dev"
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "fuzz: installing $pkg for libFuzzer"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" \
		    >/dev/null || true
	fi
	if ! $cc -fsanitize=fuzzer "$probe" -o "$out/probe" 2>/dev/null; then
		echo "fuzz: $cc cannot build with -fsanitize=fuzzer; install clang and $pkg" >&2
		exit 1
	fi
fi

echo "fuzz: building $bin"
# shellcheck disable=SC2086
# The server links liburing and hiredis (the Makefile passes their flags).
$cc $flags ${FUZZ_CPPFLAGS:-} -o "$bin" tests/fuzz/fuzz_chat.c $srcs \
    ${FUZZ_LIBS:-} || exit 1

echo "fuzz: running for ${secs}s"
log=$out/fuzz.log
# Leaks are checked after every input (-detect_leaks, on by default with
# ASan); -rss_limit_mb bounds memory; -timeout catches a stuck state.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
"$bin" -max_total_time="$secs" -dict=tests/fuzz/chat.dict \
    -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$out/artifacts/" "$out/corpus" tests/fuzz/corpus \
    tests/fuzz/regressions \
    >"$log" 2>&1
rc=$?
tail -n 25 "$log"
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
echo "fuzz: ${runs:-?} executions (max_total_time ${secs}s; log: $log)"
found=0
for f in "$out"/artifacts/crash-* "$out"/artifacts/leak-* \
    "$out"/artifacts/timeout-* "$out"/artifacts/oom-*; do
	[ -f "$f" ] || continue
	cp "$f" tests/fuzz/regressions/
	echo "fuzz: kept $(basename "$f") in tests/fuzz/regressions/" >&2
	found=1
done
if [ $rc -ne 0 ] || [ $found -ne 0 ]; then
	echo "fuzz: FAILED (exit $rc)" >&2
	exit 1
fi
echo "fuzz: OK"

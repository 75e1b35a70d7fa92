#!/usr/bin/env bash
# test/scripts/fuzz_replay.sh: the fuzzing corpus replays cleanly.
#
# Builds each libFuzzer harness test/fuzz/fuzz_<target>.c with the flags
# test/fuzz/run.sh uses (AddressSanitizer, UndefinedBehaviorSanitizer,
# LeakSanitizer, -fno-sanitize-recover=all) and runs every file of
# test/fuzz/corpus/<target>/ through it once (-runs=0: no fuzzing).  A
# target fails on any sanitizer report, leak, timeout or property abort
# (the harnesses' own checks: id re-encoding, token round trips, validator
# wrappers, ...); the log is printed.  Needs clang with libFuzzer
# (clang-14 and libclang-rt-14-dev on Debian 12) and json-c, no PostgreSQL:
# the PG* environment scripts/test.sh passes is ignored.  Under a minute.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fuzz_replay.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# shellcheck source=test/scripts/lib/report.sh
. "$ROOT/test/scripts/lib/report.sh"

CC=$(command -v clang || command -v clang-14 || true)
if [ -z "$CC" ]; then
	fail "clang (with libFuzzer) is not installed: install clang-14 and libclang-rt-14-dev"
	exit 1
fi
CORE_SRCS=$(sed -n '/^CORE_SRCS *=/,/[^\\]$/p' Makefile | sed 's/^CORE_SRCS *=//; s/\\//g')
JSONC_CFLAGS=$(pkg-config --cflags json-c 2>/dev/null || echo -I/usr/include/json-c)
JSONC_LIBS=$(pkg-config --libs json-c 2>/dev/null || echo -ljson-c)

targets=()
for f in test/fuzz/fuzz_*.c; do
	t=$(basename "$f" .c)
	targets+=("${t#fuzz_}")
done

# build all targets, two at a time
for t in "${targets[@]}"; do
	while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n; done
	# shellcheck disable=SC2086  # word splitting of flags and file lists
	"$CC" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-std=c11 -Wall -Wextra -Werror -Isrc/core $JSONC_CFLAGS \
		-o "$WORK/fuzz_$t" "test/fuzz/fuzz_$t.c" $CORE_SRCS $JSONC_LIBS \
		>"$WORK/build-$t.log" 2>&1 &
done
wait

for t in "${targets[@]}"; do
	corpus=test/fuzz/corpus/$t
	if [ ! -x "$WORK/fuzz_$t" ]; then
		fail "$t: the harness does not build"
		cat "$WORK/build-$t.log"
		continue
	fi
	n=$(find "$corpus" -type f 2>/dev/null | wc -l)
	if [ "$n" -eq 0 ]; then
		fail "$t: no corpus in $corpus"
		continue
	fi
	start=$SECONDS
	if (cd "$WORK" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"./fuzz_$t" -runs=0 -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$WORK/artifact-$t-" "$ROOT/$corpus") >"$WORK/replay-$t.log" 2>&1 &&
		grep -q 'INITED' "$WORK/replay-$t.log"; then
		pass "$t: $n corpus files replayed with ASan+UBSan, no finding ($((SECONDS - start))s)"
	else
		fail "$t: replaying $corpus found a problem:"
		tail -60 "$WORK/replay-$t.log"
	fi
done

echo "$CHECKS checks, $FAILURES failed"
[ "$FAILURES" -eq 0 ] || exit 1

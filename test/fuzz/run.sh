#!/usr/bin/env bash
# test/fuzz/run.sh: libFuzzer with AddressSanitizer and UndefinedBehavior-
# Sanitizer on the convexlite core (make fuzz).  No PostgreSQL needed.
#
# For each target (test/fuzz/fuzz_<target>.c): build it into tmp/fuzz/,
# fuzz for FUZZ_SECONDS (default 600) growing a scratch corpus seeded from
# test/fuzz/corpus/<target>/, then minimize the scratch corpus back into
# test/fuzz/corpus/<target>/ with -merge=1 (the committed corpus stays small).
#
#   FUZZ_SECONDS   seconds per target (default 600)
#   FUZZ_TARGETS   targets to run, space-separated (default: every
#                  test/fuzz/fuzz_*.c: claims id token validator)
#   FUZZ_JOBS      targets fuzzed at the same time (default 1)
#   CC             clang (default clang, else clang-14)
#
# Exits non-zero on any finding (crash, sanitizer report, leak, timeout,
# out of memory, property abort); the reproducer stays in
# tmp/fuzz/<target>/artifacts/ and the log in tmp/fuzz/<target>/fuzz.log.
# Replay one with: tmp/fuzz/<target>/fuzz_<target> <reproducer>
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
FUZZ_SECONDS=${FUZZ_SECONDS:-600}
FUZZ_JOBS=${FUZZ_JOBS:-1}
OUT=$ROOT/tmp/fuzz

if [ -z "${FUZZ_TARGETS:-}" ]; then
	FUZZ_TARGETS=$(for f in test/fuzz/fuzz_*.c; do basename "$f" .c; done | sed 's/^fuzz_//' | tr '\n' ' ')
fi
CC=${CC:-}
if [ -z "$CC" ] || ! "$CC" --version 2>/dev/null | grep -q clang; then
	CC=$(command -v clang || command -v clang-14 || true)
fi
[ -n "$CC" ] || { echo "run.sh: clang is needed (libFuzzer)" >&2; exit 2; }

# The core sources, as the Makefile lists them
CORE_SRCS=$(sed -n '/^CORE_SRCS *=/,/[^\\]$/p' Makefile | sed 's/^CORE_SRCS *=//; s/\\//g')
JSONC_CFLAGS=$(pkg-config --cflags json-c 2>/dev/null || echo -I/usr/include/json-c)
JSONC_LIBS=$(pkg-config --libs json-c 2>/dev/null || echo -ljson-c)

# build TARGET: tmp/fuzz/TARGET/fuzz_TARGET
build() {
	local t=$1
	mkdir -p "$OUT/$t"
	# shellcheck disable=SC2086  # word splitting of flags and file lists
	"$CC" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-std=c11 -Wall -Wextra -Werror -Isrc/core $JSONC_CFLAGS \
		-o "$OUT/$t/fuzz_$t" "test/fuzz/fuzz_$t.c" $CORE_SRCS $JSONC_LIBS
}

# fuzz TARGET: fuzz, then merge into the committed corpus; status 1 on a finding
fuzz() {
	local t=$1
	local dir=$OUT/$t corpus=$ROOT/test/fuzz/corpus/$t
	local dict=() rc=0
	rm -rf "$dir/scratch" "$dir/merged" "$dir/artifacts"
	mkdir -p "$corpus" "$dir/artifacts" "$dir/scratch" "$dir/merged"
	cp -p "$corpus"/. "$dir/scratch/" -r 2>/dev/null || true
	[ -f "test/fuzz/fuzz_$t.dict" ] && dict=("-dict=$ROOT/test/fuzz/fuzz_$t.dict")
	local start=$SECONDS
	(cd "$dir" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"./fuzz_$t" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
		-timeout=10 -rss_limit_mb=2048 -max_len=8192 \
		"${dict[@]}" -artifact_prefix="$dir/artifacts/" \
		scratch) >"$dir/fuzz.log" 2>&1 || rc=$?
	echo $((SECONDS - start)) >"$dir/seconds"
	if [ "$rc" -ne 0 ]; then
		echo "FINDING: $t (exit $rc); log $dir/fuzz.log; artifacts:" >&2
		ls -l "$dir/artifacts" >&2 || true
		return 1
	fi
	# minimize into a fresh set: the hand-written seeds (seed-*) are always
	# kept, then only inputs that add coverage to them
	find "$corpus" -maxdepth 1 -type f -name 'seed-*' -exec cp -p {} "$dir/merged/" \;
	(cd "$dir" && "./fuzz_$t" -merge=1 -max_len=8192 merged scratch) \
		>"$dir/merge.log" 2>&1 || { echo "merge failed: $t (see $dir/merge.log)" >&2; return 1; }
	rm -rf "${corpus:?}"/*
	cp -p "$dir/merged"/. "$corpus/" -r
	return 0
}

mkdir -p "$OUT"
for t in $FUZZ_TARGETS; do
	[ -f "test/fuzz/fuzz_$t.c" ] || { echo "run.sh: no test/fuzz/fuzz_$t.c" >&2; exit 2; }
	echo "building $t"
	build "$t"
done

echo "fuzzing ${FUZZ_TARGETS} for ${FUZZ_SECONDS}s each, ${FUZZ_JOBS} at a time"
failed=0
declare -A pids=()
for t in $FUZZ_TARGETS; do
	while [ "$(jobs -rp | wc -l)" -ge "$FUZZ_JOBS" ]; do
		wait -n || true
	done
	fuzz "$t" &
	pids[$t]=$!
done
for t in $FUZZ_TARGETS; do
	wait "${pids[$t]}" || failed=1
done

# summary: libFuzzer's final stats per target
printf '\n%-10s %8s %12s %8s %6s %7s %7s %9s %s\n' target minutes executions exec/s cov ft files KiB result
for t in $FUZZ_TARGETS; do
	dir=$OUT/$t
	log=$dir/fuzz.log
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	last=$(grep -E '^#[0-9]+' "$log" | grep -E 'cov: [0-9]+' | tail -1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	files=$(find "test/fuzz/corpus/$t" -type f | wc -l)
	kib=$(find "test/fuzz/corpus/$t" -type f -printf "%s\n" | awk "{s+=\$1} END {printf \"%d\", (s+1023)/1024}")
	secs=$(cat "$dir/seconds" 2>/dev/null || echo 0)
	result=ok
	found=$(find "$dir/artifacts" -type f -printf '%f ' 2>/dev/null | head -c 200)
	[ -z "$found" ] || result="FINDING: $found"
	printf '%-10s %8s %12s %8s %6s %7s %7s %9s %s\n' "$t" "$(awk -v s="$secs" 'BEGIN{printf "%.1f", s/60}')" \
		"${execs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "$files" "$kib" "$result"
done
exit "$failed"

# shellcheck shell=bash
# bench/lib.sh: what the benchmarks share.  Source it after scripts/lib.sh and
# after setting DB (the database the statements run in) and N (calls per batch).

# median_ms STATEMENT: median milliseconds of three runs (psql's \timing)
median_ms() {
	local statement=$1 runs
	runs=$(for _ in 1 2 3; do
		printf '\\timing on\n%s\n' "$statement" | cvx_psql -q -d "$DB" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
	done | sort -n)
	echo "$runs" | sed -n 2p
}
# per_call MS: microseconds per call of a batch of N calls that took MS
per_call() { awk -v ms="$1" -v n="$N" 'BEGIN { printf "%.2f", ms * 1000 / n }'; }
# ratio A B: A / B with two decimals
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

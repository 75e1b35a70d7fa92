#!/usr/bin/env bash
# scripts/clean.sh: remove what the scripts leave under tmp/ (also: make clean-tmp).
#
#   bash scripts/clean.sh           stop every throwaway cluster of this tree, then
#                                   remove tmp/ (clusters, logs, tmp/test-logs/, the
#                                   npm cache of index_order.sh in tmp/oracle/, demo.log)
#   bash scripts/clean.sh -n        only say what it would stop and remove
#
# The clusters are those of scripts/cluster.sh: tmp/NAME/ (demo, test, bench, and
# the clusters test scripts start), or /tmp/convexlite-<hash>/NAME/ when the server's
# OS user cannot reach this tree.  Each is stopped (pg_ctl stop -m fast, then
# immediate) before its files go.  Nothing outside tmp/ and those directories is
# touched.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CVX_ROOT"

DRY=0
case ${1:-} in
-n | --dry-run) DRY=1 ;;
'') ;;
*) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac

fallback=$(dirname "$(cvx_cluster_dir_fallback x)")
names=$(for d in tmp/*/data "$fallback"/*/data; do
	if [ -d "$d" ]; then basename "$(dirname "$d")"; fi
done | sort -u)

for name in $names; do
	if [ "$DRY" = 1 ]; then
		echo "would stop and remove cluster '$name' ($(cvx_cluster_dir "$name"))"
	else
		cvx_cluster_destroy "$name"
	fi
done

size=$(du -sh tmp 2>/dev/null | cut -f1 || true)
if [ "$DRY" = 1 ]; then
	[ -d tmp ] && echo "would remove tmp/ (${size:-0})"
	[ -d "$fallback" ] && echo "would remove $fallback"
	exit 0
fi
if [ -d tmp ]; then
	rm -rf tmp
	cvx_ok "removed tmp/ (${size:-0})"
fi
[ -d "$fallback" ] && rm -rf "$fallback"
exit 0

#!/usr/bin/env bash
# scripts/stress.sh: the long reliability runs (make stress).
#
#   bash scripts/stress.sh
#
# Installs what is missing (as root), builds and installs convexlite, then
# runs, each on a throwaway cluster of its own:
#   soak    test/scripts/soak.sh with 16 clients for STRESS_SECONDS (default
#           600; make test runs it for 180)
#   crash   test/scripts/crash.sh with STRESS_CRASH_ROUNDS rounds (default 12;
#           make test runs 4), alternating pg_ctl stop -m immediate and
#           kill -9 of a client backend
#   sharding  test/scripts/sharding.sh (1 front + 3 nodes) with
#           STRESS_SHARD_SECONDS of 16-client load (default 60; make test
#           runs 4)
#   failover  test/scripts/failover.sh STRESS_FAILOVER_RUNS times (default
#           3) with STRESS_FAILOVER_SECONDS of load before the primary is
#           killed (default 30; make test runs it once with 5)
#   auto_failover  test/stress/auto_failover.sh: the same with pg_auto_failover
#           (pg_autoctl: a monitor and two nodes) promoting the secondary
#   snapshot test/scripts/snapshot.sh with STRESS_SNAPSHOT_DOCS documents
#           (default 100000) and a STRESS_SNAPSHOT_FILE_MB MiB file (default
#           64; make test runs 300 and 1), on cluster 'stress-snap' (port 54347)
# Exits 1 if any fails.  Their settings (SOAK_*, CRASH_*, FAILOVER_*, SHARD_*) pass through.
set -uo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CVX_ROOT" || exit 1

cvx_install_deps all
cvx_build_install || cvx_die "build failed"
PATH="$(cvx_pg_bindir):$PATH"
export PATH

status=0
cvx_step "Soak: ${STRESS_SECONDS:-600}s"
SOAK_SECONDS=${STRESS_SECONDS:-600} test/scripts/soak.sh || status=1
cvx_step "Crash: ${STRESS_CRASH_ROUNDS:-12} rounds"
CRASH_ROUNDS=${STRESS_CRASH_ROUNDS:-12} test/scripts/crash.sh || status=1
for run in $(seq "${STRESS_FAILOVER_RUNS:-3}"); do
	cvx_step "Failover $run: ${STRESS_FAILOVER_SECONDS:-30}s of load, then kill -9 of the primary"
	FAILOVER_LOAD_SECONDS=${STRESS_FAILOVER_SECONDS:-30} test/scripts/failover.sh || status=1
done
cvx_step "Failover with pg_auto_failover"
test/stress/auto_failover.sh || status=1
cvx_step "Sharding: ${STRESS_SHARD_SECONDS:-60}s of load through the front"
SHARD_LOAD_SECONDS=${STRESS_SHARD_SECONDS:-60} test/scripts/sharding.sh || status=1
cvx_step "Snapshot: ${STRESS_SNAPSHOT_DOCS:-100000} documents, a ${STRESS_SNAPSHOT_FILE_MB:-64} MiB file"
if cvx_cluster_start stress-snap 54347 postgres; then
	(
		cvx_cluster_env stress-snap 54347
		SNAPSHOT_DOCS=${STRESS_SNAPSHOT_DOCS:-100000} SNAPSHOT_FILE_MB=${STRESS_SNAPSHOT_FILE_MB:-64} \
			PGDATABASE=postgres test/scripts/snapshot.sh
	) || status=1
	cvx_cluster_stop stress-snap
else
	status=1
fi
if [ "$status" = 0 ]; then cvx_ok "stress: passed"; else cvx_err "stress: FAILED"; fi
exit "$status"

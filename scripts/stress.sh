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
#   snapshot test/scripts/snapshot.sh with STRESS_SNAPSHOT_DOCS documents
#           (default 100000) and a STRESS_SNAPSHOT_FILE_MB MiB file (default
#           64; make test runs 300 and 1), on cluster 'stress-snap' (port 54347)
# Exits 1 if any fails.  Their settings (SOAK_*, CRASH_*) pass through.
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

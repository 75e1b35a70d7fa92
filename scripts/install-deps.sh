#!/usr/bin/env bash
# scripts/install-deps.sh: install the Debian packages convexlite needs (the ones that
# are missing; as root), or, when not root, say which are missing and fail.
#
#   bash scripts/install-deps.sh          build, run and test (default)
#   bash scripts/install-deps.sh build    build and run only (no pgTAP); docker/Dockerfile
#   bash scripts/install-deps.sh deb      build and make deb (debhelper, pg_buildext)
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cvx_install_deps "${1:-all}"

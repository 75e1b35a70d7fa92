# shellcheck shell=bash
# scripts/lib.sh: helpers shared by demo.sh, test.sh, cluster.sh and install-deps.sh.
#
# Source it from bash:  . "$(dirname "$0")/lib.sh"
#
#   cvx_install_deps [all|build|deb]
#                                  install the Debian packages the project needs
#   cvx_build_install              make && make install
#   cvx_cluster_start NAME PORT CRON_DB
#                                  start (or reuse) a throwaway cluster; exports
#                                  PGHOST, PGPORT, PGUSER for the caller
#   cvx_cluster_stop NAME          stop it (its data stays until cvx_cluster_destroy)
#   cvx_cluster_restart NAME       restart it (loads a newly installed convexlite.so)
#   cvx_cluster_destroy NAME       stop it and remove its files
#   cvx_cluster_running NAME       true if it is running
#   cvx_cluster_env NAME [PORT]    export PGHOST/PGPORT/PGUSER, PGDATA and CVX_* for NAME
#   cvx_recreate_db NAME DB        drop and create DB, then restart the cluster
#   cvx_regress_db_settings DB     give DB the settings pg_regress gives its databases
#   cvx_pg_ctl NAME ARGS...        pg_ctl on NAME's data directory, as its OS user
#   cvx_psql ARGS...               psql -X -v ON_ERROR_STOP=1 with that environment
#   cvx_step / cvx_info / cvx_warn / cvx_die / cvx_run
#
# Settings (environment):
#   PG_CONFIG            pg_config to build against (default: PostgreSQL 15's)
#   CVX_PRELOAD          shared_preload_libraries of the clusters
#                        (default 'pg_cron,convexlite'; for debugging the scripts only)
#   CVX_PG_OS_USER       OS user that runs the server when we are root (default postgres)
#   CVX_EXTRA_CONF       more postgresql.conf lines for the clusters (newline-separated)

# Repository root: the parent of this file's directory.
CVX_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CVX_ROOT

CVX_PG_MAJOR=15
if [ -z "${PG_CONFIG:-}" ]; then
	if [ -x "/usr/lib/postgresql/$CVX_PG_MAJOR/bin/pg_config" ]; then
		PG_CONFIG=/usr/lib/postgresql/$CVX_PG_MAJOR/bin/pg_config
	else
		PG_CONFIG=pg_config
	fi
fi
export PG_CONFIG

# The Debian packages the project needs.  "build" is what compiling and running the
# extension needs; "all" adds what the tests use (pgTAP and pg_prove, which is only a
# Recommends of postgresql-15-pgtap, so it is named here; clang with its libFuzzer and
# sanitizer runtime for the fuzz corpus replay; valgrind for make valgrind; python3 for
# test/scripts/sql_qualified.sh, which reads the SQL in src/*.c; PL/Proxy for the
# sharding front of test/scripts/sharding.sh and bench/sharding.sh, docs/sharding.md).
CVX_DEPS_BUILD=(build-essential pkg-config "postgresql-$CVX_PG_MAJOR" "postgresql-client-$CVX_PG_MAJOR"
	"postgresql-server-dev-$CVX_PG_MAJOR" libjson-c-dev libzip-dev "postgresql-$CVX_PG_MAJOR-cron")
CVX_DEPS_TEST=("postgresql-$CVX_PG_MAJOR-pgtap" libtap-parser-sourcehandler-pgtap-perl
	clang-14 libclang-rt-14-dev valgrind python3 "postgresql-$CVX_PG_MAJOR-plproxy"
	pg-auto-failover-cli "postgresql-$CVX_PG_MAJOR-auto-failover")
# psycopg 3 and SQLAlchemy for the Python example server (examples/python/,
# test/scripts/example_python.sh); Debian's, since CI cannot reach PyPI
CVX_DEPS_TEST+=(python3-psycopg python3-sqlalchemy)
# "deb" adds what `make deb` (scripts/deb.sh) needs to build the Debian package with
# Debian's PostgreSQL tooling: debhelper, pg_buildext and dh --with pgxs_loop
# (postgresql-server-dev-all), dpkg-buildpackage (dpkg-dev), git archive.  "all"
# includes it: test/scripts/deb_package.sh builds the package.
CVX_DEPS_DEB=(debhelper postgresql-server-dev-all dpkg-dev git)

: "${CVX_PRELOAD:=pg_cron,convexlite}"
: "${CVX_PG_OS_USER:=postgres}"

# ---------------------------------------------------------------------------
# Printing

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ] && [ "${TERM:-dumb}" != dumb ]; then
	CVX_BOLD=$'\e[1m' CVX_RED=$'\e[31m' CVX_YELLOW=$'\e[33m' CVX_GREEN=$'\e[32m' CVX_OFF=$'\e[0m'
else
	CVX_BOLD='' CVX_RED='' CVX_YELLOW='' CVX_GREEN='' CVX_OFF=''
fi

# A step heading: "==> [12:00:01] Building".
cvx_step() { printf '\n%s==> [%s] %s%s\n' "$CVX_BOLD" "$(date +%H:%M:%S)" "$*" "$CVX_OFF"; }
cvx_info() { printf '    %s\n' "$*"; }
cvx_ok() { printf '    %s%s%s\n' "$CVX_GREEN" "$*" "$CVX_OFF"; }
cvx_warn() { printf '%swarning:%s %s\n' "$CVX_YELLOW" "$CVX_OFF" "$*" >&2; }
cvx_err() { printf '%serror:%s %s\n' "$CVX_RED" "$CVX_OFF" "$*" >&2; }
cvx_die() {
	cvx_err "$*"
	exit 1
}

# Print a command, then run it.
cvx_run() {
	printf '    $ %s\n' "$*"
	"$@"
}

cvx_is_root() { [ "$(id -u)" -eq 0 ]; }

# ---------------------------------------------------------------------------
# Dependencies

cvx_pkg_installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

# cvx_install_deps [all|build|deb]: install the missing packages (as root), or say
# which ones are missing and fail (otherwise).  all = build + test + deb.
cvx_install_deps() {
	local which=${1:-all} pkg missing=()
	local want=("${CVX_DEPS_BUILD[@]}")
	case $which in
	all) want+=("${CVX_DEPS_TEST[@]}" "${CVX_DEPS_DEB[@]}") ;;
	build) ;;
	deb) want+=("${CVX_DEPS_DEB[@]}") ;;
	*) cvx_die "cvx_install_deps: unknown set '$which' (all, build or deb)" ;;
	esac
	cvx_step "Checking dependencies (${which}): ${want[*]}"
	command -v dpkg-query >/dev/null 2>&1 ||
		cvx_die "dpkg-query not found: this needs Debian or Ubuntu; install by hand: ${want[*]}"
	for pkg in "${want[@]}"; do
		cvx_pkg_installed "$pkg" || missing+=("$pkg")
	done
	# node and npm for test/scripts/index_order.sh (its compareValues oracle
	# comes from the npm registry); a node from elsewhere (NodeSource) will do
	if [ "$which" = all ] && ! { command -v node && command -v npm; } >/dev/null 2>&1; then
		missing+=(nodejs npm)
	fi
	if [ ${#missing[@]} -eq 0 ]; then
		cvx_info "all installed"
		return 0
	fi
	if ! cvx_is_root; then
		cvx_err "missing Debian packages: ${missing[*]}"
		printf 'Install them with:\n    sudo apt-get install -y --no-install-recommends %s\n' "${missing[*]}" >&2
		exit 1
	fi
	cvx_info "missing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if [ -z "${CVX_APT_UPDATED:-}" ]; then
		cvx_run apt-get update -qq || cvx_die "apt-get update failed"
		CVX_APT_UPDATED=1
	fi
	cvx_run apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null ||
		cvx_die "apt-get install failed for: ${missing[*]}"
	for pkg in "${missing[@]}"; do
		cvx_pkg_installed "$pkg" || cvx_die "package $pkg still not installed"
	done
	cvx_ok "installed: ${missing[*]}"
}

# ---------------------------------------------------------------------------
# Build

cvx_pg_bindir() { "$PG_CONFIG" --bindir; }

# make, then make install (directly when the install directories are writable,
# else with sudo when there is one).
cvx_build_install() {
	local jobs pkglibdir sharedir
	jobs=$(nproc 2>/dev/null || echo 2)
	cvx_step "Building convexlite (PG_CONFIG=$PG_CONFIG)"
	(cd "$CVX_ROOT" && cvx_run make -j"$jobs" PG_CONFIG="$PG_CONFIG") || {
		cvx_err "build failed"
		return 1
	}
	cvx_step "Installing convexlite"
	pkglibdir=$("$PG_CONFIG" --pkglibdir)
	sharedir=$("$PG_CONFIG" --sharedir)
	if cvx_is_root || { [ -w "$pkglibdir" ] && [ -w "$sharedir/extension" ]; }; then
		(cd "$CVX_ROOT" && cvx_run make install PG_CONFIG="$PG_CONFIG") || {
			cvx_err "make install failed"
			return 1
		}
	elif command -v sudo >/dev/null 2>&1; then
		(cd "$CVX_ROOT" && cvx_run sudo make install PG_CONFIG="$PG_CONFIG") || {
			cvx_err "sudo make install failed"
			return 1
		}
	else
		cvx_err "installing needs write access to $pkglibdir and $sharedir/extension:" \
			"run as root, or install sudo, or run 'make install PG_CONFIG=$PG_CONFIG' as root"
		return 1
	fi
}

# ---------------------------------------------------------------------------
# Throwaway clusters
#
# A cluster NAME lives in tmp/NAME/ of the build tree:
#   tmp/NAME/data/          the data directory
#   tmp/NAME/postgres.log   the server log
#   tmp/NAME/.s.PGSQL.PORT  the socket (listen_addresses is empty: no TCP)
# When we are root the server runs as $CVX_PG_OS_USER, which must be able to reach
# that directory; if it cannot (a clone under /root, say), the cluster lives in
# /tmp/convexlite-<hash of the repo path>/NAME instead.

cvx_repo_hash() { printf '%s' "$CVX_ROOT" | cksum | cut -d' ' -f1; }
cvx_cluster_dir_repo() { printf '%s/tmp/%s' "$CVX_ROOT" "$1"; }
cvx_cluster_dir_fallback() { printf '/tmp/convexlite-%s/%s' "$(cvx_repo_hash)" "$1"; }

# Run a command as the server's OS user (ourselves unless we are root).
cvx_as_pg() {
	if cvx_is_root; then
		(cd / && runuser -u "$CVX_PG_OS_USER" -- "$@")
	else
		"$@"
	fi
}

# Make sure the OS user for the server exists (root only).
cvx_ensure_pg_os_user() {
	cvx_is_root || return 0
	id -u "$CVX_PG_OS_USER" >/dev/null 2>&1 && return 0
	if [ "$CVX_PG_OS_USER" = postgres ] && id -u convexlite >/dev/null 2>&1; then
		CVX_PG_OS_USER=convexlite
		return 0
	fi
	cvx_warn "OS user $CVX_PG_OS_USER does not exist: creating system user 'convexlite' to run the server"
	useradd --system --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin convexlite ||
		cvx_die "could not create OS user convexlite"
	CVX_PG_OS_USER=convexlite
}

# Where cluster NAME lives: an existing one first, then where a new one would go.
cvx_cluster_dir() {
	local name=$1 repo fb
	repo=$(cvx_cluster_dir_repo "$name")
	fb=$(cvx_cluster_dir_fallback "$name")
	if [ -f "$repo/data/PG_VERSION" ]; then
		printf '%s' "$repo"
	elif [ -f "$fb/data/PG_VERSION" ]; then
		printf '%s' "$fb"
	elif cvx_is_root && ! cvx_pg_can_reach "$CVX_ROOT"; then
		printf '%s' "$fb"
	else
		printf '%s' "$repo"
	fi
}

# Can the server's OS user traverse directory $1?
cvx_pg_can_reach() {
	cvx_is_root || return 0
	id -u "$CVX_PG_OS_USER" >/dev/null 2>&1 || return 0
	cvx_as_pg test -x "$1" 2>/dev/null
}

# The socket directory of a cluster dir: the dir itself, unless the socket path would
# pass the 107-byte limit of a Unix socket path.
cvx_socket_dir() {
	local dir=$1 port=$2
	if [ $((${#dir} + ${#port} + 10)) -le 100 ]; then
		printf '%s' "$dir"
	else
		printf '/tmp/cvx-%s-%s' "$(cvx_repo_hash)" "$(basename "$dir")"
	fi
}

# The port a cluster is configured for (empty if none yet).
cvx_cluster_port() {
	local conf
	conf="$(cvx_cluster_dir "$1")/data/convexlite.conf"
	[ -f "$conf" ] && sed -n "s/^port[[:space:]]*=[[:space:]]*\([0-9]*\).*/\1/p" "$conf"
}

# Default port of the well-known clusters.
cvx_default_port() {
	case $1 in
	demo) echo 54331 ;;
	test) echo 54332 ;;
	bench) echo 54333 ;;
	*) return 1 ;;
	esac
}

# Default cron.database_name of the well-known clusters.
cvx_default_cron_db() {
	case $1 in
	demo) echo convexlite_demo ;;
	test) echo contrib_regression ;;
	bench) echo convexlite_bench ;;
	*) echo postgres ;;
	esac
}

# cvx_cluster_env NAME [PORT]: export the connection environment of cluster NAME.
cvx_cluster_env() {
	local name=$1 port=${2:-}
	[ -n "$port" ] || port=$(cvx_cluster_port "$name")
	[ -n "$port" ] || port=$(cvx_default_port "$name") || cvx_die "no port known for cluster $name"
	CVX_CLUSTER=$name
	CVX_CLUSTER_DIR=$(cvx_cluster_dir "$name")
	PGDATA=$CVX_CLUSTER_DIR/data
	CVX_LOGFILE=$CVX_CLUSTER_DIR/postgres.log
	CVX_PG_BINDIR=$(cvx_pg_bindir)
	PGHOST=$(cvx_socket_dir "$CVX_CLUSTER_DIR" "$port")
	PGPORT=$port
	PGUSER=postgres
	export CVX_CLUSTER CVX_CLUSTER_DIR CVX_LOGFILE CVX_PG_BINDIR CVX_PG_OS_USER PGDATA PGHOST PGPORT PGUSER
}

cvx_pg_ctl() {
	local name=$1
	shift
	cvx_cluster_env "$name"
	cvx_as_pg "$CVX_PG_BINDIR/pg_ctl" -D "$PGDATA" "$@"
}

# Is cluster NAME's postmaster alive?  (Its pid file names a live, non-zombie
# postgres process: a killed postmaster can linger as a zombie where nothing reaps it.)
cvx_cluster_running() {
	local pidfile pid
	pidfile="$(cvx_cluster_dir "$1")/data/postmaster.pid"
	[ -f "$pidfile" ] || return 1
	pid=$(head -n 1 "$pidfile" 2>/dev/null)
	case $pid in '' | *[!0-9]*) return 1 ;; esac
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = postgres ] || return 1
	! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null
}

# Wait (up to 30 s) until what is left of a crashed server is gone: a killed
# postmaster stays a zombie until init reaps it, and PostgreSQL refuses to start while
# the pid in postmaster.pid exists, or while its old backends are still exiting.
cvx_wait_old_server() {
	local data=$1 pid p d i busy
	for i in $(seq 150); do
		busy=
		pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null) || return 0
		case $pid in '' | *[!0-9]*) return 0 ;; esac
		if [ -e "/proc/$pid" ] && grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null; then
			busy="zombie postmaster $pid"
		else
			for p in /proc/[0-9]*; do
				d=$(readlink "$p/cwd" 2>/dev/null) || continue
				[ "$d" = "$data" ] && busy="old server process ${p#/proc/}" && break
			done
		fi
		[ -n "$busy" ] || return 0
		[ "$i" = 1 ] && cvx_info "waiting for the old server to be gone ($busy)"
		sleep 0.2
	done
	cvx_warn "the old server of $data is still not gone after 30 s ($busy)"
}

# cvx_cluster_start NAME PORT CRON_DB
cvx_cluster_start() {
	local name=$1 port=$2 cron_db=$3 dir sock bindir owner
	if [ -z "$name" ] || [ -z "$port" ] || [ -z "$cron_db" ]; then
		cvx_die "usage: cvx_cluster_start NAME PORT CRON_DB"
	fi
	cvx_ensure_pg_os_user
	bindir=$(cvx_pg_bindir)
	[ -x "$bindir/initdb" ] || cvx_die "$bindir/initdb not found: is postgresql-$CVX_PG_MAJOR installed?"

	if cvx_is_root; then
		mkdir -p "$CVX_ROOT/tmp"
		chmod 755 "$CVX_ROOT/tmp"
	fi
	dir=$(cvx_cluster_dir "$name")
	if [ "$dir" = "$(cvx_cluster_dir_fallback "$name")" ]; then
		cvx_warn "$CVX_PG_OS_USER cannot reach $CVX_ROOT: cluster '$name' lives in $dir instead of tmp/$name"
		mkdir -p "$(dirname "$dir")"
		chmod 755 "$(dirname "$dir")"
	fi
	cvx_cluster_env "$name" "$port"
	sock=$PGHOST

	cvx_step "Cluster '$name' (port $port, $dir)"
	if cvx_cluster_running "$name"; then
		cvx_info "already running: reusing it"
	else
		mkdir -p "$dir" "$sock"
		if cvx_is_root; then
			chown "$CVX_PG_OS_USER": "$dir" "$sock"
			chmod 755 "$dir" "$sock"
			[ -d "$dir/data" ] && chown -R "$CVX_PG_OS_USER": "$dir/data"
		fi
		if [ ! -f "$dir/data/PG_VERSION" ]; then
			rm -rf "$dir/data"
			if cvx_is_root; then owner=$CVX_PG_OS_USER; else owner=$(id -un); fi
			cvx_info "initdb as OS user $owner"
			cvx_as_pg "$bindir/initdb" -D "$dir/data" --auth=trust -U postgres --encoding=UTF8 \
				--locale=C --no-sync >"$dir/initdb.log" 2>&1 || {
				cat "$dir/initdb.log" >&2
				cvx_err "initdb failed for cluster $name"
				return 1
			}
			printf "\n# Added by scripts/lib.sh\ninclude 'convexlite.conf'\n" |
				cvx_as_pg tee -a "$dir/data/postgresql.conf" >/dev/null
		fi
		# Written on every start so that a changed port or preload list takes effect.
		# convexlite.database_name exists only where convexlite is preloaded.
		local worker_db=''
		case ",$CVX_PRELOAD," in
		*,convexlite,*) worker_db="convexlite.database_name = '$cron_db'" ;;
		esac
		cvx_as_pg tee "$dir/data/convexlite.conf" >/dev/null <<EOF
# Written by scripts/lib.sh for throwaway cluster '$name'; rewritten at each start.
listen_addresses = ''
port = $port
unix_socket_directories = '$sock'
max_connections = 100
shared_preload_libraries = '$CVX_PRELOAD'
cron.database_name = '$cron_db'
$worker_db
cron.host = '$sock'
log_line_prefix = '%m [%p] %q%u@%d '
${CVX_EXTRA_CONF:-}
EOF
		owner=$(stat -c %U "$dir/data")
		if cvx_is_root && [ "$owner" != "$CVX_PG_OS_USER" ]; then
			cvx_err "$dir/data is owned by $owner, not $CVX_PG_OS_USER: remove it (scripts/cluster.sh destroy $name)"
			return 1
		fi
		cvx_wait_old_server "$dir/data"
		cvx_info "starting (shared_preload_libraries = '$CVX_PRELOAD', log: $CVX_LOGFILE)"
		if ! cvx_as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$CVX_LOGFILE" -w -t 60 start >/dev/null; then
			cvx_err "cluster $name did not start; the end of $CVX_LOGFILE:"
			tail -n 30 "$CVX_LOGFILE" >&2 || true
			return 1
		fi
	fi
	if [ "$(cvx_psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$cron_db'")" != 1 ]; then
		cvx_info "creating database $cron_db"
		cvx_psql -d postgres -qc "CREATE DATABASE \"$cron_db\"" || return 1
		# The preloaded workers (pg_cron's launcher) connect to it: restart so that
		# they start cleanly now that it exists.
		cvx_cluster_restart "$name" || return 1
	fi
	cvx_ok "ready: PGHOST=$PGHOST PGPORT=$PGPORT PGUSER=$PGUSER"
}

# Restart a running cluster (this also loads a freshly installed convexlite.so).
cvx_cluster_restart() {
	local name=$1
	cvx_cluster_env "$name"
	cvx_info "restarting cluster '$name'"
	if ! cvx_as_pg "$CVX_PG_BINDIR/pg_ctl" -D "$PGDATA" -l "$CVX_LOGFILE" -m fast -w -t 60 restart >/dev/null; then
		cvx_err "cluster $name did not restart; the end of $CVX_LOGFILE:"
		tail -n 30 "$CVX_LOGFILE" >&2 || true
		return 1
	fi
}

# cvx_recreate_db NAME DB: drop and create database DB in cluster NAME, then restart
# the cluster so that the preloaded workers connect to the new database (pg_cron's
# launcher exits for good when DROP DATABASE ... WITH (FORCE) ends it).
cvx_recreate_db() {
	local name=$1 db=$2
	cvx_cluster_env "$name"
	cvx_info "recreating database $db"
	cvx_psql -d postgres -q -c "SET client_min_messages = warning" \
		-c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" \
		-c "CREATE DATABASE \"$db\" TEMPLATE = template0" || return 1
	cvx_cluster_restart "$name"
}

# cvx_regress_db_settings DB: the settings pg_regress gives the databases it creates,
# for running it with --use-existing (pg_regress cannot drop the cron database while
# pg_cron's launcher is connected to it).  They apply to new sessions.
cvx_regress_db_settings() {
	local db=$1 s
	for s in "lc_messages TO 'C'" "lc_monetary TO 'C'" "lc_numeric TO 'C'" "lc_time TO 'C'" \
		"bytea_output TO 'hex'" "timezone_abbreviations TO 'Default'"; do
		cvx_psql -d postgres -q -c "ALTER DATABASE \"$db\" SET $s" || return 1
	done
}

cvx_cluster_stop() {
	local name=$1
	cvx_cluster_env "$name"
	if cvx_cluster_running "$name"; then
		cvx_step "Stopping cluster '$name'"
		cvx_as_pg "$CVX_PG_BINDIR/pg_ctl" -D "$PGDATA" -m fast -w -t 60 stop >/dev/null && return 0
		cvx_cluster_running "$name" || return 0
		cvx_warn "fast shutdown failed: stopping cluster '$name' with -m immediate"
		cvx_as_pg "$CVX_PG_BINDIR/pg_ctl" -D "$PGDATA" -m immediate -w -t 60 stop >/dev/null
	else
		cvx_info "cluster '$name' is not running"
	fi
}

cvx_cluster_destroy() {
	local name=$1 dir sock
	cvx_cluster_stop "$name"
	dir=$CVX_CLUSTER_DIR
	sock=$PGHOST
	cvx_info "removing $dir"
	rm -rf "$dir"
	[ "$sock" = "$dir" ] || rm -rf "$sock"
}

cvx_psql() {
	"$(cvx_pg_bindir)/psql" -X -v ON_ERROR_STOP=1 "$@"
}

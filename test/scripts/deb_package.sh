#!/usr/bin/env bash
# test/scripts/deb_package.sh: the Debian package postgresql-15-convexlite
# installs, upgrades from the previous release's package, and removes cleanly
# (issue 18 item 6; docs/install.md "Debian package").
#
# Builds two packages with the same debian/ files: this tree's HEAD with
# `make deb` (0.3.0-1), and release 0.2.0 (commit 1e91a03, see bench/versions.sh)
# as 0.2.0-1 (scripts/deb.sh with DEB_REF and DEB_VERSION).  Then, on the system
# PostgreSQL 15 (which is where a package installs):
#   - `dpkg -i` the 0.2.0 package; a fresh cluster of its own (debpkg, port
#     ${DEBPKG_PORT:-54372}, under tmp/, run by the unprivileged CVX_PG_OS_USER,
#     pg_cron and convexlite preloaded) runs CREATE EXTENSION (0.2.0) and
#     mutations through 0.2.0's functions;
#   - `dpkg -i` the 0.3.0 package over it, restart, ALTER EXTENSION convexlite
#     UPDATE: the version is 0.3.0, the data is unchanged, a function new in
#     0.3.0 runs (so the 0.3.0 library is the one loaded), and scripts/demo.sql
#     runs through without an unexpected error;
#   - `dpkg -r`: every file `dpkg -L` listed is gone; `dpkg --purge`: dpkg no
#     longer knows the package; no convexlite file is left in the server's
#     directories.
#
# The system PostgreSQL is left as it was found: before anything is installed,
# the convexlite files already there (a `make install` into the system's
# PostgreSQL, as the suite does when PG_CONFIG is the system's) are saved and
# removed, so the package installs as on a fresh machine; at exit, whatever
# happened (an EXIT trap), the package is purged, `make install` runs again with
# the PG_CONFIG the suite uses, and the saved files are put back; the last check
# compares every convexlite file of the system install with the saved ones.
#
# dpkg needs root: as another user the script prints a SKIP line and exits 0.
# It also skips when postgresql-15-convexlite is already installed (a real
# install, which it must not remove).  PASS/FAIL lines; exits 1 on failure.
set -uo pipefail

DB=convexlite_debpkg
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# the PG_CONFIG scripts/test.sh built and installed with (lib.sh defaults it)
SUITE_PG_CONFIG=${PG_CONFIG:-}
# shellcheck source=test/scripts/lib/checks.sh
. "$HERE/lib/checks.sh"
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
[ -n "$SUITE_PG_CONFIG" ] || SUITE_PG_CONFIG=$PG_CONFIG

PACKAGE=postgresql-15-convexlite
PREV_REF=1e91a03
PREV_VERSION=0.2.0-1
NAME=debpkg
PORT=${DEBPKG_PORT:-54372}
SYS_PG_CONFIG=/usr/lib/postgresql/$CVX_PG_MAJOR/bin/pg_config
T0=$(date +%s)

if ! cvx_is_root; then
	echo "SKIP: deb_package: dpkg -i needs root (CI runs make test as root)"
	exit 0
fi
if [ ! -x "$SYS_PG_CONFIG" ]; then
	echo "SKIP: deb_package: no system PostgreSQL $CVX_PG_MAJOR ($SYS_PG_CONFIG) to install the package into"
	exit 0
fi
if [ "$(dpkg-query -W -f='${db:Status-Status}' "$PACKAGE" 2>/dev/null)" = installed ]; then
	echo "SKIP: deb_package: $PACKAGE is installed on this machine; the test would remove it"
	exit 0
fi

SYS_PKGLIB=$("$SYS_PG_CONFIG" --pkglibdir)
SYS_SHARE=$("$SYS_PG_CONFIG" --sharedir)
# every convexlite file of the system install, one absolute path a line
system_files() {
	find "$SYS_PKGLIB" "$SYS_SHARE/extension" \( -name 'convexlite*' -o -path "$SYS_PKGLIB/bitcode/convexlite/*" \) \
		\( -type f -o -type l \) 2>/dev/null | sort
}
system_sums() { system_files | xargs -r sha256sum; }

# --- leave the system as it was found ---------------------------------------
SAVED=0
RESTORED=0
restore_system() {
	[ "$SAVED" = 1 ] && [ "$RESTORED" = 0 ] || return 0
	RESTORED=1
	if [ -f "$(cvx_cluster_dir "$NAME")/data/convexlite.conf" ]; then
		(PG_CONFIG=$SYS_PG_CONFIG cvx_cluster_destroy "$NAME") >>"$WORK/cluster.log" 2>&1
	fi
	if [ "$(dpkg-query -W -f='${db:Status-Status}' "$PACKAGE" 2>/dev/null)" != not-installed ] &&
		dpkg-query -W "$PACKAGE" >/dev/null 2>&1; then
		dpkg --purge "$PACKAGE" >>"$WORK/dpkg.log" 2>&1
	fi
	# what make install puts there for the suite, then exactly what was there
	(cd "$ROOT" && make install PG_CONFIG="$SUITE_PG_CONFIG") >"$WORK/make-install.log" 2>&1 ||
		echo "    (make install PG_CONFIG=$SUITE_PG_CONFIG failed: $(tail -n 1 "$WORK/make-install.log"))"
	system_files | xargs -r rm -f
	rmdir "$SYS_PKGLIB/bitcode/convexlite/src/core" "$SYS_PKGLIB/bitcode/convexlite/src" \
		"$SYS_PKGLIB/bitcode/convexlite" 2>/dev/null
	[ -s "$WORK/system-before.tar" ] && tar -xpPf "$WORK/system-before.tar"
}
# shellcheck disable=SC2317  # invoked by the EXIT trap
on_exit() {
	restore_system
	cleanup
}
trap on_exit EXIT

# --- the two packages ---------------------------------------------------------
# psql of the system install against the package's cluster
psql_pkg() { "$SYS_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PKG_HOST" -p "$PORT" -U postgres -d "$DB" "$@"; }
qp() { psql_pkg -At -c "$1"; }
SYS_PG_BIN=$("$SYS_PG_CONFIG" --bindir)

if ! (cd "$ROOT" && make --no-print-directory deb) >"$WORK/deb-new.log" 2>&1; then
	fail "make deb builds the package of HEAD"
	tail -n 30 "$WORK/deb-new.log" | sed 's/^/    | /'
	exit 1
fi
NEW_DEB=$(tail -n 1 "$WORK/deb-new.log")
NEW_VERSION=$(dpkg-deb -f "$NEW_DEB" Version)
pass "make deb builds $(basename "$NEW_DEB")"
if ! (cd "$ROOT" && DEB_REF=$PREV_REF DEB_VERSION=$PREV_VERSION bash scripts/deb.sh) >"$WORK/deb-prev.log" 2>&1; then
	fail "the $PREV_VERSION package builds from $PREV_REF"
	tail -n 30 "$WORK/deb-prev.log" | sed 's/^/    | /'
	exit 1
fi
PREV_DEB=$(tail -n 1 "$WORK/deb-prev.log")
pass "the $PREV_VERSION package builds from $PREV_REF ($(basename "$PREV_DEB"))"
check "the package's name" "$PACKAGE" "$(dpkg-deb -f "$NEW_DEB" Package)"
deps=$(dpkg-deb -f "$NEW_DEB" Depends)
for d in "postgresql-$CVX_PG_MAJOR" libzip4 libjson-c5; do
	if [[ ", $deps" == *", $d "* || ", $deps," == *", $d,"* ]]; then
		pass "$NEW_VERSION depends on $d"
	else
		fail "$NEW_VERSION depends on $d: Depends is '$deps'"
	fi
done
check "$NEW_VERSION recommends pg_cron" "postgresql-$CVX_PG_MAJOR-cron" "$(dpkg-deb -f "$NEW_DEB" Recommends)"
if [[ "$(dpkg-deb -f "$PREV_DEB" Depends)" != *libzip* ]]; then
	pass "$PREV_VERSION does not depend on libzip"
else
	fail "$PREV_VERSION does not depend on libzip: $(dpkg-deb -f "$PREV_DEB" Depends)"
fi

# --- the system PostgreSQL as a fresh machine has it -------------------------------
# (only now that the packages are built: a cluster of the system PostgreSQL that
# runs meanwhile, the suite's in CI, misses the files for as short a time as can be)
system_sums >"$WORK/system-before.sums"
system_files | tar -cpPf "$WORK/system-before.tar" -T - 2>/dev/null
SAVED=1
echo "deb_package: $(wc -l <"$WORK/system-before.sums") convexlite files of the system PostgreSQL saved and removed"
system_files | xargs -r rm -f

# dpkg_install DEB VERSION LABEL: dpkg -i DEB (a check named LABEL; the
# test stops when it fails), then dpkg must know the package at VERSION
dpkg_install() {
	if dpkg -i "$1" >"$WORK/dpkg.log" 2>&1; then
		pass "$3"
	else
		fail "$3"
		sed 's/^/    | /' "$WORK/dpkg.log" | tail -n 20
		exit 1
	fi
	check "dpkg knows $PACKAGE $2" "installed $2" \
		"$(dpkg-query -W -f='${db:Status-Status} ${Version}' "$PACKAGE")"
}

# --- install the previous release, use it -------------------------------------
dpkg_install "$PREV_DEB" "$PREV_VERSION" "dpkg -i $(basename "$PREV_DEB")"
check "the system PostgreSQL has $PREV_VERSION's control file" "default_version = '${PREV_VERSION%-*}'" \
	"$(grep '^default_version' "$SYS_SHARE/extension/convexlite.control")"

export PG_CONFIG=$SYS_PG_CONFIG   # the clusters of lib.sh run the system PostgreSQL
: >"$WORK/cluster.log"
# a leftover of an aborted run
if [ -f "$(cvx_cluster_dir "$NAME")/data/convexlite.conf" ]; then
	(cvx_cluster_destroy "$NAME") >>"$WORK/cluster.log" 2>&1
fi
if ! cvx_cluster_start "$NAME" "$PORT" "$DB" >>"$WORK/cluster.log" 2>&1; then
	fail "cluster '$NAME' starts on the system PostgreSQL with $PREV_VERSION preloaded"
	tail -n 20 "$WORK/cluster.log" | sed 's/^/    | /'
	exit 1
fi
PKG_HOST=$PGHOST
check "the cluster runs the system PostgreSQL's binaries" "$SYS_PG_BIN/postgres" \
	"$(readlink "/proc/$(head -n 1 "$PGDATA/postmaster.pid")/exe")"
check "the server runs as $CVX_PG_OS_USER" "$CVX_PG_OS_USER" "$(stat -c %U "/proc/$(head -n 1 "$PGDATA/postmaster.pid")")"

if ! psql_pkg >"$WORK/fill.log" 2>&1 <<'EOF'; then
SET client_min_messages = warning;
CREATE EXTENSION pg_cron;
CREATE EXTENSION convexlite;
SELECT convex_db_insert('users', '{"name": "Ada", "email": "ada@example.com"}') AS ada \gset
SELECT set_config('convexlite.user_id', :'ada', false);
SELECT convex_users_update_profile('{"name": "Ada L.", "image": "https://example.com/a.png"}');
SELECT convex_messages_send(jsonb_build_object('roomId', 'r' || i % 3, 'content', 'hello ' || i,
                                               'userName', 'Ada'))
  FROM generate_series(1, 12) AS i;
SELECT convex_presence_update(jsonb_build_object('roomId', 'r1', 'sessionId', 's1',
                                                 'data', jsonb_build_object('status', 'here')));
EOF
	fail "CREATE EXTENSION convexlite and mutations on $PREV_VERSION"
	sed 's/^/    | /' "$WORK/fill.log" | tail -n 20
	exit 1
fi
pass "CREATE EXTENSION convexlite and mutations on $PREV_VERSION"
check "the extension's version" "${PREV_VERSION%-*}" "$(qp "SELECT extversion FROM pg_extension WHERE extname = 'convexlite'")"
DATA_SQL="SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
  SELECT concat_ws(',', room_id, content, user_name, user_id = u._id) AS x
    FROM convex.messages m, convex.users u
  UNION ALL SELECT concat_ws(',', name, email, image) FROM convex.users
  UNION ALL SELECT concat_ws(',', room_id, session_id, data::text) FROM convex.presence) s"
data_before=$(qp "$DATA_SQL")
check "12 messages sent" 12 "$(qp "SELECT count(*) FROM convex.messages")"

# --- upgrade to this tree's package -------------------------------------------
dpkg_install "$NEW_DEB" "$NEW_VERSION" "dpkg -i $(basename "$NEW_DEB") over $PREV_VERSION"
if ! cvx_cluster_restart "$NAME" >>"$WORK/cluster.log" 2>&1; then
	fail "the cluster restarts with $NEW_VERSION's library"
	tail -n 20 "$WORK/cluster.log" | sed 's/^/    | /'
	exit 1
fi
pass "the cluster restarts with $NEW_VERSION's library"
check "before the update, the database still has ${PREV_VERSION%-*}" "${PREV_VERSION%-*}" \
	"$(qp "SELECT extversion FROM pg_extension WHERE extname = 'convexlite'")"
if out=$(psql_pkg -c "ALTER EXTENSION convexlite UPDATE" 2>&1); then
	pass "ALTER EXTENSION convexlite UPDATE"
else
	fail "ALTER EXTENSION convexlite UPDATE: $out"
fi
check "the extension's version after the update" "${NEW_VERSION%-*}" \
	"$(qp "SELECT extversion FROM pg_extension WHERE extname = 'convexlite'")"
check "the data is unchanged (messages, users, presence)" "$data_before" "$(qp "$DATA_SQL")"
# convex_set_user is new in 0.3.0: its C symbol is only in the new library
check "a function new in ${NEW_VERSION%-*} runs (convex_set_user, then who the user is)" \
	"$(qp "SELECT _id FROM convex.users")" \
	"$(psql_pkg -At <<'EOF'
BEGIN;
SELECT convex_set_user((SELECT _id FROM convex.users)) \g /dev/null
SELECT current_setting('convexlite.user_id');
COMMIT;
EOF
)"

# the demo's SQL, on the updated database (statements meant to fail run with
# ON_ERROR_STOP off; any other error stops psql with status 3)
psql_pkg -v VERBOSITY=verbose -f "$ROOT/scripts/demo.sql" >"$WORK/demo.log" 2>&1
rc=$?
check "scripts/demo.sql runs on the updated install (psql status)" 0 "$rc"
[ "$rc" = 0 ] || tail -n 15 "$WORK/demo.log" | sed 's/^/    | /'
check "its deliberate errors carry their SQLSTATEs (42501 first)" 42501 \
	"$(grep -oE '^psql:[^ ]* ERROR:  [0-9A-Z]{5}' "$WORK/demo.log" | head -n 1 | grep -oE '[0-9A-Z]{5}$')"

# --- remove ---------------------------------------------------------------------
(cvx_cluster_stop "$NAME") >>"$WORK/cluster.log" 2>&1
dpkg -L "$PACKAGE" >"$WORK/listed" 2>&1
listed_files=$(while read -r f; do [ -f "$f" ] && echo "$f"; done <"$WORK/listed")
n_listed=$(printf '%s\n' "$listed_files" | grep -c .)
if printf '%s\n' "$listed_files" | grep -q "^$SYS_PKGLIB/convexlite.so\$" &&
	printf '%s\n' "$listed_files" | grep -q "^$SYS_SHARE/extension/convexlite--0.2.0--0.3.0.sql\$"; then
	pass "dpkg -L lists the library and the update script ($n_listed files)"
else
	fail "dpkg -L lists the library and the update script: $(grep -cE 'convexlite(\.so|--)' "$WORK/listed") of them listed"
fi
if dpkg -r "$PACKAGE" >"$WORK/dpkg.log" 2>&1; then
	pass "dpkg -r $PACKAGE"
else
	fail "dpkg -r $PACKAGE"
	sed 's/^/    | /' "$WORK/dpkg.log" | tail -n 20
fi
# shellcheck disable=SC2086  # one path a line, no spaces
left=$(printf '%s\n' "$listed_files" | while read -r f; do [ -n "$f" ] && ls -d "$f" 2>/dev/null; done)
check "every file dpkg -L listed is gone (files left)" 0 "$(printf '%s' "$left" | grep -c .)"
[ -n "$left" ] && printf '%s\n' "$left" | head -n 5 | sed 's/^/    | /'
dpkg --purge "$PACKAGE" >>"$WORK/dpkg.log" 2>&1
check "after dpkg --purge, dpkg does not know $PACKAGE" "" \
	"$(dpkg-query -W -f='${db:Status-Status}' "$PACKAGE" 2>/dev/null | grep -v '^not-installed$')"
check "no convexlite file is left in the system PostgreSQL" "" "$(system_files | head -n 3)"

# --- the system as it was found ---------------------------------------------------
restore_system
if diff <(system_sums) "$WORK/system-before.sums" >"$WORK/sums.diff"; then
	pass "the system PostgreSQL's convexlite files are as before ($(wc -l <"$WORK/system-before.sums") files)"
else
	fail "the system PostgreSQL's convexlite files are as before"
	head -n 10 "$WORK/sums.diff" | sed 's/^/    | /'
fi

echo "deb_package: $CHECKS checks, $FAILURES failed ($(($(date +%s) - T0)) s)"
[ "$FAILURES" -eq 0 ]

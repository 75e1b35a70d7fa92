#!/usr/bin/env bash
# test/scripts/docs_examples.sh: every SQL example in docs/*.md and in
# README.md (its five-minute tour) runs.
#
# Each docs/<chapter>.md, and README.md, gets a fresh database with convexlite, and its
# ```sql blocks (indented ones in list items included) run there in order, in one psql session as the superuser (so
# a block may rely on what an earlier block of the same chapter did, SET ROLE
# included).  A block must run without any error, except a block whose info
# string is `sql error=XXXXX`: its last statement must fail with SQLSTATE
# XXXXX (the chapter shows an error a user will meet; the block's earlier
# statements must succeed).  Roles a chapter creates are dropped afterwards.
#
# One PASS/FAIL line per block; exit 1 on any failure.
set -uo pipefail

DB=convexlite_docs
T0=$(date +%s)
# shellcheck source=test/scripts/lib/checks.sh
. "$(dirname "$0")/lib/checks.sh"

shopt -s nullglob
chapters=(README.md docs/*.md)
if [ ${#chapters[@]} -eq 0 ]; then
	fail "no docs/*.md to check"
	echo "docs_examples: $((CHECKS - FAILURES)) of $CHECKS checks passed in $(($(date +%s) - T0)) s"
if [ "$FAILURES" -ne 0 ]; then
	echo "docs_examples: FAIL"
	exit 1
fi
echo "docs_examples: PASS"
fi

roles_now() { psql_admin -At -c "SELECT rolname FROM pg_roles ORDER BY 1"; }

for chapter in "${chapters[@]}"; do
	name=${chapter%.md}
	name=${name//\//_}
	roles_before=$(roles_now)
	if ! fresh_db; then
		fail "$name: could not create database $DB with convexlite"
		continue
	fi

	# The chapter as one psql script: each block framed by markers that
	# report the SQLSTATE of its last statement and of any error in it.
	script=$WORK/$name.sql
	expect=$WORK/$name.expect
	rm -f "$script" "$expect"
	awk -v script="$script" -v expect="$expect" '
		/^[ \t]*```sql/ {
			inblock = 1; n++
			want = ""
			if (match($0, /error=[0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z]/)) want = substr($0, RSTART + 6, 5)
			printf "%d %d %s\n", n, NR, (want == "" ? "ok" : want) > expect
			printf "\\set LAST_ERROR_SQLSTATE none\n" > script
			next
		}
		inblock && /^[ \t]*```/ {
			inblock = 0
			printf "\n\\echo @@block %d :SQLSTATE :LAST_ERROR_SQLSTATE\n", n > script
			next
		}
		inblock { print > script }
	' "$chapter"
	if [ ! -s "$expect" ]; then
		echo "# $name: no sql blocks"
		continue
	fi
	"$PSQL_BIN" -X -q -v ON_ERROR_STOP=0 -v VERBOSITY=terse -d "$DB" -f "$script" \
		>"$WORK/$name.out" 2>&1

	while read -r n line want; do
		got=$(sed -nE "s/^@@block $n ([0-9A-Z]+) ([0-9A-Za-z]+)$/\1 \2/p" "$WORK/$name.out")
		last=${got%% *}
		any=${got##* }
		where="$chapter:$line (block $n)"
		ok=0
		if [ -z "$got" ]; then
			fail "$where did not finish"
		elif [ "$want" = ok ] && [ "$any" = none ]; then
			pass "$where runs"
			ok=1
		elif [ "$want" = ok ]; then
			fail "$where runs: it failed with SQLSTATE $any"
		elif [ "$last" = "$want" ] && [ "$any" = "$want" ]; then
			pass "$where fails with SQLSTATE $want as documented"
			ok=1
		else
			fail "$where fails with SQLSTATE $want as documented: last statement $last, error $any"
		fi
		if [ "$ok" = 0 ]; then
			# what psql printed for the failing block
			awk -v n="$n" '/^@@block /{ if ($2 == n) exit; buf = ""; next } { buf = buf $0 "\n" } END { printf "%s", buf }' \
				"$WORK/$name.out" | tail -n 8 | sed 's/^/    | /'
		fi
	done <"$expect"

	psql_admin -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
	comm -13 <(printf '%s\n' "$roles_before") <(roles_now) | while read -r role; do
		[ -n "$role" ] && psql_admin -c "DROP ROLE IF EXISTS \"$role\"" >/dev/null
	done
done
echo "docs_examples: $((CHECKS - FAILURES)) of $CHECKS checks passed in $(($(date +%s) - T0)) s"
if [ "$FAILURES" -ne 0 ]; then
	echo "docs_examples: FAIL"
	exit 1
fi
echo "docs_examples: PASS"

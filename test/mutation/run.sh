#!/usr/bin/env bash
# test/mutation/run.sh: the repeatable mutation run.  Each mutant in
# test/mutation/mutants is one deliberate bug (a literal replacement in one
# file); the run applies it to a scratch copy of the tree, builds, and runs the
# suite there.  A mutant is caught when the suite fails; a mutant that does not
# compile is reported apart (a mutant must compile to count).
#
#   bash test/mutation/run.sh            every mutant
#   bash test/mutation/run.sh M03 M17    only these
#   bash test/mutation/run.sh --check    only check that every mutant still applies
#   make mutation                        the same as the first form
#
# It is run on demand, not by make test or CI (about a minute per mutant on an
# idle 2-core machine).  The suite run per mutant is scripts/test.sh with
# CVX_TEST_SCRIPTS set to the mutant's "scripts:" line (unit, pg_regress and
# pgTAP always run; shell scripts only where named, to keep the run short).
#
# The scratch copy lives in tmp/mutation/tree and builds against a relocated
# copy of the PostgreSQL 15 install in tmp/mutation/pg, so the system install
# (what make test and the demo use) is never touched.  Results:
# tmp/mutation/results.txt and one log per mutant in tmp/mutation/logs/.
# The last line is "mutation: N caught, N missed", and the exit status is 1
# when a mutant was missed, did not apply or did not compile, or the control
# run (no mutant) failed.
set -uo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
cd "$CVX_ROOT" || exit 1

MUTANTS=test/mutation/mutants
WORK=$CVX_ROOT/tmp/mutation
TREE=$WORK/tree
PGCOPY=$WORK/pg
LOGS=$WORK/logs
RESULTS=$WORK/results.txt

cvx_install_deps all || exit 1

# A relocated copy of PostgreSQL 15 (bin, lib with pg_cron and pgTAP, share,
# include): pg_config and the server find their directories relative to
# their own location, so make install PG_CONFIG=<copy> writes into the copy.
make_pg_copy() {
	local libdir sharedir incdir
	libdir=$(dirname "$("$PG_CONFIG" --bindir)")
	sharedir=$("$PG_CONFIG" --sharedir)
	incdir=$(dirname "$(dirname "$("$PG_CONFIG" --includedir-server)")")
	rm -rf "$PGCOPY"
	mkdir -p "$PGCOPY$(dirname "$libdir")" "$PGCOPY$(dirname "$sharedir")" "$PGCOPY$(dirname "$incdir")"
	cp -a "$libdir" "$PGCOPY$libdir" &&
		cp -a "$sharedir" "$PGCOPY$sharedir" &&
		cp -a "$incdir" "$PGCOPY$incdir"
}

# Fresh scratch copy of the tracked files as they are in the working tree.
fresh_tree() {
	rm -rf "$TREE"
	mkdir -p "$TREE"
	git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$TREE"
}

# apply_mutant FILE FROM TO: replace the one occurrence of FROM in FILE (of
# the scratch tree) with TO; fails when FROM does not occur exactly once.
apply_mutant() {
	MUT_FROM=$2 MUT_TO=$3 perl -0777 -i -pe '
		my $n = () = /\Q$ENV{MUT_FROM}\E/g;
		die "found $n times\n" unless $n == 1;
		s/\Q$ENV{MUT_FROM}\E/$ENV{MUT_TO}/;
	' "$TREE/$1"
}

# run_suite LOG SCRIPTS: the suite in the scratch tree; prints ok, FAILED or
# NOBUILD.
run_suite() {
	local log=$1 scripts=$2 rc
	(cd "$TREE" && PG_CONFIG="$PGCOPY$(dirname "$("$PG_CONFIG" --bindir)")/bin/pg_config" \
		CVX_TEST_SCRIPTS="$scripts" bash scripts/test.sh </dev/null >"$log" 2>&1)
	rc=$?
	if grep -qE '^build +FAILED' "$log"; then
		echo NOBUILD
	elif [ "$rc" -eq 0 ]; then
		echo ok
	else
		echo FAILED
	fi
}

# The mutants: blocks of "## ID description" then file:, from:, to:,
# scripts: lines (see the header of test/mutation/mutants).
declare -a IDS=() DESCS=() FILES=() FROMS=() TOS=() SCRIPTS=()
parse_mutants() {
	local line id= key=
	while IFS= read -r line || [ -n "$line" ]; do
		case $line in
		'## '*)
			id=${line#'## '}
			IDS+=("${id%% *}")
			DESCS+=("${id#* }")
			FILES+=("") FROMS+=("") TOS+=("") SCRIPTS+=("")
			key=
			;;
		'#'* | '') key= ;;
		'file: '*) FILES[-1]=${line#'file: '} key= ;;
		'from: '*) FROMS[-1]=${line#'from: '} key=from ;;
		'to: '*) TOS[-1]=${line#'to: '} key=to ;;
		'to:') TOS[-1]= key=to ;;
		'scripts: '*) SCRIPTS[-1]=${line#'scripts: '} key= ;;
		*)
			# A line that continues a multi-line from: or to: text.
			case $key in
			from) FROMS[-1]+=$'\n'$line ;;
			to) TOS[-1]+=$'\n'$line ;;
			*) cvx_die "test/mutation/mutants: a line outside a from:/to: text: $line" ;;
			esac
			;;
		esac
	done <"$MUTANTS"
}
parse_mutants

wanted() {
	local id=$1 w
	[ $# -gt 1 ] || return 0
	shift
	for w in "$@"; do [ "$w" = "$id" ] && return 0; done
	return 1
}

# --check: only say whether every mutant still applies to the working tree.
if [ "${1:-}" = --check ]; then
	bad=0
	TREE=$(mktemp -d)
	for i in "${!IDS[@]}"; do
		mkdir -p "$TREE/$(dirname "${FILES[$i]}")"
		cp "${FILES[$i]}" "$TREE/${FILES[$i]}" 2>/dev/null
		if err=$(apply_mutant "${FILES[$i]}" "${FROMS[$i]}" "${TOS[$i]}" 2>&1); then
			echo "${IDS[$i]} applies"
		else
			echo "${IDS[$i]} NOT-APPLIED ${FILES[$i]}: $err"
			bad=$((bad + 1))
		fi
		rm -f "$TREE/${FILES[$i]}"
	done
	rm -rf "$TREE"
	[ "$bad" -eq 0 ]
	exit $?
fi

mkdir -p "$LOGS"
: >"$RESULTS"
cvx_step "Relocated PostgreSQL copy in $PGCOPY"
make_pg_copy || cvx_die "could not copy the PostgreSQL install"

# Control: the unmutated tree with every script any selected mutant names
# must pass, or no result below means anything.
all_scripts=$(for i in "${!IDS[@]}"; do wanted "${IDS[$i]}" "$@" && echo "${SCRIPTS[$i]}"; done | tr ' ' '\n' | sort -u | tr '\n' ' ')
cvx_step "Control run (no mutant; scripts: ${all_scripts:-none})"
fresh_tree
control=$(run_suite "$LOGS/control.log" "$all_scripts")
echo "control: $control" | tee -a "$RESULTS"
if [ "$control" != ok ]; then
	cvx_err "the control run failed (see $LOGS/control.log): fix the suite first"
	echo "mutation: 0 caught, 0 missed"
	exit 1
fi

caught=0 missed=0 broken=0
for i in "${!IDS[@]}"; do
	id=${IDS[$i]}
	wanted "$id" "$@" || continue
	cvx_step "Mutant $id: ${DESCS[$i]}"
	fresh_tree
	if ! err=$(apply_mutant "${FILES[$i]}" "${FROMS[$i]}" "${TOS[$i]}" 2>&1); then
		echo "$id NOT-APPLIED ${FILES[$i]}: $err" | tee -a "$RESULTS"
		broken=$((broken + 1))
		continue
	fi
	t=$(date +%s)
	status=$(run_suite "$LOGS/$id.log" "${SCRIPTS[$i]}")
	secs=$(($(date +%s) - t))
	case $status in
	FAILED)
		by=$(grep -E '^(unit|regress|pgtap|script [a-z_]+) +(FAILED|TIMEOUT)' "$LOGS/$id.log" | awk '{print ($1 == "script" ? $2 : $1)}' | tr '\n' ' ')
		echo "$id caught by: ${by:-the suite} (${secs}s) - ${DESCS[$i]}" | tee -a "$RESULTS"
		caught=$((caught + 1))
		;;
	ok)
		echo "$id MISSED (${secs}s) - ${DESCS[$i]}" | tee -a "$RESULTS"
		missed=$((missed + 1))
		;;
	*)
		echo "$id DID-NOT-COMPILE - ${DESCS[$i]}" | tee -a "$RESULTS"
		broken=$((broken + 1))
		;;
	esac
done
rm -rf "$TREE"
echo
echo "mutation: $caught caught, $missed missed$([ "$broken" -gt 0 ] && echo ", $broken invalid")"
[ "$missed" -eq 0 ] && [ "$broken" -eq 0 ]

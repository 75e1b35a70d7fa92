#!/usr/bin/env bash
# bench/report.sh: writes bench/RESULTS.md and bench/throughput.png from the raw
# results bench/run.sh left in bench/out (meta.env, wire.tsv, batch.tsv,
# cleanup.tsv, and the fragments storage.md, scheduler.md, presence.md,
# memory.md when present).  Runs nothing against a database, so it can be run
# again at will: bash bench/report.sh
#
# Figures: every tps and µs figure is the median of its runs; ratios are
# computed run by run (the k-th run of one variant against the k-th of the
# other, which ran next to it) and given as their median with the min–max.
# Environment: BENCH_OUT (default bench/out), BENCH_RESULTS (default
# bench/RESULTS.md), BENCH_CHART (default bench/throughput.png).
# shellcheck disable=SC2016  # backquotes in single quotes are markdown
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${BENCH_OUT:-$HERE/out}
RESULTS=${BENCH_RESULTS:-$HERE/RESULTS.md}
CHART=${BENCH_CHART:-$HERE/throughput.png}

die() {
	printf 'report.sh: %s\n' "$*" >&2
	exit 1
}
[ -f "$OUT/meta.env" ] || die "no $OUT/meta.env: run bash bench/run.sh first"
command -v gnuplot >/dev/null 2>&1 || die "gnuplot is not installed (apt-get install gnuplot-nox)"

declare -A META
while IFS='=' read -r key value; do
	[ -n "$key" ] && META[$key]=$value
done <"$OUT/meta.env"
meta() { printf '%s' "${META[$1]:-?}"; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
touch "$OUT/wire.tsv" "$OUT/batch.tsv" "$OUT/cleanup.tsv"

# ---------------------------------------------------------------------------
# The numbers: one awk program reads the three tables and writes the markdown
# sections (targets, one per workload) and the chart's data files
awk -v tmp="$TMP" -v stale="$(meta stale)" -F'\t' '
function median(list,    n, a, i, j, t) {
	n = split(list, a, " ")
	if (n == 0) return ""
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function lo(list,    n, a, i, m) { n = split(list, a, " "); m = a[1]; for (i = 2; i <= n; i++) if (a[i] + 0 < m + 0) m = a[i]; return m }
function hi(list,    n, a, i, m) { n = split(list, a, " "); m = a[1]; for (i = 2; i <= n; i++) if (a[i] + 0 > m + 0) m = a[i]; return m }
function count(list,    a) { return split(list, a, " ") }
# the k-th run ratios of two lists, as a list
function ratios(num, den,    n, m, a, b, i, out) {
	n = split(num, a, " "); m = split(den, b, " "); out = ""
	for (i = 1; i <= n && i <= m; i++) if (b[i] > 0 && a[i] != "NaN" && b[i] != "NaN") out = out (out == "" ? "" : " ") a[i] / b[i]
	return out
}
# batch ratios, run by run: the time of variant a / the time of variant b, in each run that has both
function bratios(w, a, b,    r, out) {
	out = ""
	for (r = 1; r <= NRUNS[w]; r++)
		if (((w, a, r) in RUNMS) && ((w, b, r) in RUNMS) && RUNMS[w, b, r] > 0)
			out = out (out == "" ? "" : " ") RUNMS[w, a, r] / RUNMS[w, b, r]
	return out
}
function commas(x,    s, neg) {
	if (x == "" || x == "NaN") return "–"
	x = sprintf("%.0f", x); neg = x < 0; if (neg) x = -x
	s = ""
	while (length(x) > 3) { s = "," substr(x, length(x) - 2) s; x = substr(x, 1, length(x) - 3) }
	return (neg ? "-" : "") x s
}
function f2(x) { return (x == "") ? "–" : sprintf("%.2f", x) }
# "median (min–max)" of a ratio list, or the one value
function rfmt(list) {
	if (list == "") return "–"
	if (count(list) == 1) return f2(list)
	return sprintf("%.2f (%.2f–%.2f)", median(list), lo(list), hi(list))
}
function tfmt(list) {
	if (list == "") return "–"
	if (count(list) == 1) return commas(list)
	return sprintf("%s (%s–%s)", commas(median(list)), commas(lo(list)), commas(hi(list)))
}
function usfmt(list, calls,    m) {
	if (list == "") return "–"
	m = median(list) * 1000 / calls
	if (count(list) == 1) return sprintf("%.2f", m)
	return sprintf("%.2f (%.2f–%.2f)", m, lo(list) * 1000 / calls, hi(list) * 1000 / calls)
}
function verdict(ok) { return ok ? "met" : "**missed**" }
function add(arr, key, value) { arr[key] = (key in arr) ? arr[key] " " value : value }

FILENAME ~ /wire.tsv$/ && FNR > 1 {
	w = $1; v = $2; c = $3; s = $4
	add(TPS, w SUBSEP c SUBSEP s SUBSEP v, $5); add(LAT, w SUBSEP c SUBSEP s SUBSEP v, $6)
	FAILED[w SUBSEP c SUBSEP s SUBSEP v] += $7; RETRIED[w SUBSEP c SUBSEP s SUBSEP v] += $8
	if ($9 != "") NOTE[w SUBSEP c SUBSEP s SUBSEP v] = $9
	if (!((w, c, s) in POINT)) { POINT[w, c, s] = 1; NP[w]++; PC[w, NP[w]] = c; PS[w, NP[w]] = s }
	WIRE[w] = 1
	next
}
FILENAME ~ /batch.tsv$/ && FNR > 1 {
	add(MS, $1 SUBSEP $2, $4); CALLS[$1] = $5; BATCH[$1] = 1
	RUNMS[$1, $2, $3] = $4; if ($3 + 0 > NRUNS[$1]) NRUNS[$1] = $3 + 0
	if (!(($1, $2) in BV)) { BV[$1, $2] = 1 }
	next
}
FILENAME ~ /cleanup.tsv$/ && FNR > 1 {
	v = $1; c = $2; s = $3; k = c SUBSEP s SUBSEP v
	add(CMS, k, $4); add(CDEL, k, $5); add(CTPS, k, $6); add(CDUR, k, $7); add(CMAX, k, $8)
	if ($10 != "") CNOTE[k] = $10
	if (!((c, s) in CPOINT)) { CPOINT[c, s] = 1; CN++; CC[CN] = c; CS[CN] = s }
	CLEAN = 1
	next
}
END {
	split("send remove heartbeat leave profile dispatch transfer cleanup", ORDER, " ")
	NAME["send"] = "messages.send"; FLOOR["send"] = "INSERT of the row"
	NAME["remove"] = "messages.remove"; FLOOR["remove"] = "DELETE by id"
	NAME["heartbeat"] = "presence.update (heartbeat storm)"; FLOOR["heartbeat"] = "UPDATE by (session, room)"
	NAME["leave"] = "presence.leave"; FLOOR["leave"] = "DELETE by (session, room)"
	NAME["profile"] = "users.updateProfile"; FLOOR["profile"] = "UPDATE by id"
	NAME["dispatch"] = "convex_mutation dispatch (channels:sendMessage)"; FLOOR["dispatch"] = "the handler called directly"
	NAME["transfer"] = "accounts:transferFunds under contention"; FLOOR["transfer"] = "the two UPDATEs"
	NAME["cleanup"] = "presence.cleanup while heartbeats continue"; FLOOR["cleanup"] = "one DELETE"
	VNAME["convexlite"] = "convexlite"; VNAME["convexlite_nonotify"] = "convexlite, notify off"
	VNAME["floor"] = "floor: PL/pgSQL loop of the plain statement"; VNAME["floor_set"] = "floor, set-based (one statement for all rows)"
	VNAME["plpgsql"] = "PL/pgSQL peer"
	VNAME["convexlite_noop"] = "no-op handler through convex_mutation"; VNAME["floor_noop"] = "no-op handler called directly"
	VNAME["plpgsql_noop"] = "no-op handler through plain.dispatch"
	split("convexlite convexlite_nonotify floor floor_set plpgsql convexlite_noop floor_noop plpgsql_noop", BORDER, " ")

	targets = tmp "/targets.md"
	print "| Target | Workload | Measured | |" > targets
	print "|---|---|---|---|" > targets

	# batch targets: per-call cost against the floor, and against the PL/pgSQL peer
	for (i = 1; i <= 8; i++) {
		w = ORDER[i]
		if (!(w in BATCH)) continue
		cv = MS[w, "convexlite"]
		if (w == "send" || w == "heartbeat") {
			r = bratios(w, "convexlite", "floor")
			printf "| batch: per call within 1.2× the plain %s | %s | convexlite / floor = %s | %s |\n", \
				(w == "send" ? "INSERT" : "UPDATE"), NAME[w], rfmt(r), verdict(r != "" && median(r) <= 1.2) > targets
		}
	}
	for (i = 1; i <= 8; i++) {
		w = ORDER[i]
		if (!(w in BATCH)) continue
		r = bratios(w, "plpgsql", "convexlite")
		printf "| batch: at least 1.5× faster than the PL/pgSQL peer | %s | PL/pgSQL / convexlite = %s | %s |\n", \
			NAME[w], rfmt(r), verdict(r != "" && median(r) >= 1.5) > targets
	}
	# wire targets: the worst point of each workload
	for (pass = 1; pass <= 2; pass++) {
		cvar = pass == 1 ? "convexlite" : "convexlite_nonotify"
		for (i = 1; i <= 8; i++) {
			w = ORDER[i]
			worst = ""; where = ""; all = ""; skipped = 0
			if (w == "cleanup") {
				if (!CLEAN) continue
				for (p = 1; p <= CN; p++) {
					k = CC[p] SUBSEP CS[p]
					if (!((k SUBSEP cvar) in CDUR)) continue
					if (((k SUBSEP cvar) in CNOTE) || ((k SUBSEP "floor") in CNOTE)) { skipped++; continue }
					r = median(ratios(CDUR[k SUBSEP cvar], CDUR[k SUBSEP "floor"]))
					if (r != "") all = all " " r
					if (r != "" && (worst == "" || r < worst)) { worst = r; where = CC[p] " clients, sync " CS[p] }
				}
			} else {
				if (!(w in WIRE)) continue
				for (p = 1; p <= NP[w]; p++) {
					k = w SUBSEP PC[w, p] SUBSEP PS[w, p]
					if (!((k SUBSEP cvar) in TPS)) continue
					# a run that aborted or ran out of rows to delete says nothing
					if (((k SUBSEP cvar) in NOTE) || ((k SUBSEP "floor") in NOTE)) { skipped++; continue }
					r = median(ratios(TPS[k SUBSEP cvar], TPS[k SUBSEP "floor"]))
					if (r != "") all = all " " r
					if (r != "" && (worst == "" || r < worst)) { worst = r; where = PC[w, p] " clients, sync " PS[w, p] }
				}
			}
			if (worst == "") continue
			printf "| wire%s: at least 0.90× the floor'"'"'s tps at every client count | %s | lowest %s× (%s)%s; median of the %d points %s×%s | %s |\n", \
				(pass == 2 ? ", convexlite.notify = off" : ""), NAME[w], f2(worst), where, \
				(w == "cleanup" ? " (heartbeats/s during the cleanup)" : ""), count(all), f2(median(all)), \
				(skipped ? sprintf(" (%d point%s left out: a run of it aborted or ran out of rows)", skipped, skipped == 1 ? "" : "s") : ""), \
				verdict(worst >= 0.9) > targets
		}
	}
	close(targets)

	for (i = 1; i <= 8; i++) {
		w = ORDER[i]
		if (!(w in WIRE) && !(w in BATCH) && !(w == "cleanup" && CLEAN)) continue
		f = tmp "/w_" w ".md"
		wnotes = ""
		# over the wire
		if (w == "cleanup" && CLEAN) {
			print "Over the wire: pgbench heartbeats (the storm'"'"'s script, 100 sessions) for `BENCH_SECONDS`+2 s; a third of the way in, one cleanup of " commas(stale) " stale rows. Heartbeats/s and the slowest heartbeat are of those that completed while the cleanup ran (per-transaction log). Ratios: convexlite / floor (heartbeats/s during the cleanup, higher is better; cleanup time, lower is better).\n" > f
			print "| clients | sync | cleanup ms: convexlite | notify off | floor | PL/pgSQL | heartbeats/s during: convexlite | notify off | floor | PL/pgSQL | slowest heartbeat ms: convexlite / floor / PL/pgSQL | during vs floor | notify off vs floor | during vs PL/pgSQL |" > f
			print "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|" > f
			for (p = 1; p <= CN; p++) {
				k = CC[p] SUBSEP CS[p]
				notes = ""
				for (vv in VNAME) if ((k SUBSEP vv) in CNOTE) notes = notes (notes == "" ? " " : ", ") vv ": " CNOTE[k SUBSEP vv]
				if (notes != "") wnotes = wnotes sprintf("- %s clients, sync %s:%s\n", CC[p], CS[p], notes)
				printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s / %s | %s | %s | %s |\n", CC[p], CS[p], \
					tfmt(CMS[k SUBSEP "convexlite"]), tfmt(CMS[k SUBSEP "convexlite_nonotify"]), tfmt(CMS[k SUBSEP "floor"]), tfmt(CMS[k SUBSEP "plpgsql"]), \
					tfmt(CDUR[k SUBSEP "convexlite"]), tfmt(CDUR[k SUBSEP "convexlite_nonotify"]), tfmt(CDUR[k SUBSEP "floor"]), tfmt(CDUR[k SUBSEP "plpgsql"]), \
					f2(median(CMAX[k SUBSEP "convexlite"])), f2(median(CMAX[k SUBSEP "floor"])), f2(median(CMAX[k SUBSEP "plpgsql"])), \
					rfmt(ratios(CDUR[k SUBSEP "convexlite"], CDUR[k SUBSEP "floor"])), rfmt(ratios(CDUR[k SUBSEP "convexlite_nonotify"], CDUR[k SUBSEP "floor"])), \
					rfmt(ratios(CDUR[k SUBSEP "convexlite"], CDUR[k SUBSEP "plpgsql"])) > f
				if (CS[p] == "on") {
					dat = tmp "/cleanup.dat"
					printf "%s %s %s %s %s\n", CC[p], nz(median(CDUR[k SUBSEP "convexlite"])), nz(median(CDUR[k SUBSEP "convexlite_nonotify"])), \
						nz(median(CDUR[k SUBSEP "floor"])), nz(median(CDUR[k SUBSEP "plpgsql"])) > dat
				}
			}
			if (wnotes != "")
				printf "\nRuns with a note (cleanup-outlasted-heartbeats: the heartbeats ended before the cleanup did; aborted: see bench/out/logs):\n\n%s", wnotes > f
			print "" > f
		} else if (w in WIRE) {
			print "Over the wire: pgbench -M prepared, one call a transaction, transactions per second. Floor: " FLOOR[w] ". Ratios: convexlite tps / peer tps (higher is better for convexlite)." (w == "transfer" ? " Deadlocks and serialization failures are retried (`--max-tries`); failed/retried counts are summed over the row'"'"'s runs." : "") "\n" > f
			print "| clients | sync | convexlite | notify off | floor | PL/pgSQL | vs floor | notify off vs floor | vs PL/pgSQL | latency ms, convexlite / floor / PL/pgSQL |" (w == "transfer" ? " failed / retried (convexlite; floor; PL/pgSQL) |" : "") > f
			print "|---|---|---|---|---|---|---|---|---|---|" (w == "transfer" ? "---|" : "") > f
			for (p = 1; p <= NP[w]; p++) {
				k = w SUBSEP PC[w, p] SUBSEP PS[w, p]
				notes = ""
				for (vv in VNAME) if ((k SUBSEP vv) in NOTE) notes = notes (notes == "" ? " " : ", ") vv ": " NOTE[k SUBSEP vv]
				extra = ""
				if (w == "transfer")
					extra = sprintf(" %d / %d; %d / %d; %d / %d |", FAILED[k SUBSEP "convexlite"], RETRIED[k SUBSEP "convexlite"], \
						FAILED[k SUBSEP "floor"], RETRIED[k SUBSEP "floor"], FAILED[k SUBSEP "plpgsql"], RETRIED[k SUBSEP "plpgsql"])
				if (notes != "") wnotes = wnotes sprintf("- %s clients, sync %s:%s\n", PC[w, p], PS[w, p], notes)
				printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s / %s |%s\n", PC[w, p], PS[w, p], \
					tfmt(TPS[k SUBSEP "convexlite"]), tfmt(TPS[k SUBSEP "convexlite_nonotify"]), tfmt(TPS[k SUBSEP "floor"]), tfmt(TPS[k SUBSEP "plpgsql"]), \
					rfmt(ratios(TPS[k SUBSEP "convexlite"], TPS[k SUBSEP "floor"])), rfmt(ratios(TPS[k SUBSEP "convexlite_nonotify"], TPS[k SUBSEP "floor"])), \
					rfmt(ratios(TPS[k SUBSEP "convexlite"], TPS[k SUBSEP "plpgsql"])), \
					f2(median(LAT[k SUBSEP "convexlite"])), f2(median(LAT[k SUBSEP "floor"])), f2(median(LAT[k SUBSEP "plpgsql"])), extra > f
				if (PS[w, p] == "on") {
					dat = tmp "/" w ".dat"
					printf "%s %s %s %s %s\n", PC[w, p], nz(median(TPS[k SUBSEP "convexlite"])), nz(median(TPS[k SUBSEP "convexlite_nonotify"])), \
						nz(median(TPS[k SUBSEP "floor"])), nz(median(TPS[k SUBSEP "plpgsql"])) > dat
				}
			}
			if (wnotes != "")
				printf "\nRuns with a note (ran-out-of-rows: the run used up the rows put back for it, so its last calls found nothing to delete and its tps is too high; aborted: pgbench stopped a client on an error, see bench/out/logs):\n\n%s", wnotes > f
			print "" > f
		}
		# batch
		if (w in BATCH) {
			n = count(MS[w, "convexlite"])
			printf "Batch: %s %s in one statement, %d run%s; µs per %s, median (min–max); ratio: the variant'"'"'s time / convexlite'"'"'s, run by run.\n\n", \
				commas(CALLS[w]), (w == "cleanup" ? "stale rows deleted by one call" : "calls"), n, (n == 1 ? "" : "s"), (w == "cleanup" ? "row" : "call") > f
			print "| variant | µs per " (w == "cleanup" ? "row" : "call") " | × convexlite |" > f
			print "|---|---|---|" > f
			for (b = 1; b <= 8; b++) {
				v = BORDER[b]
				if (!((w, v) in BV)) continue
				base = (v ~ /_noop$/) ? "convexlite_noop" : "convexlite"
				label = VNAME[v]
				if (v == "floor" && w == "cleanup") label = "floor: one DELETE of the stale rows"
				if (v == "floor" && w == "dispatch") label = "floor: the handler called directly"
				if (v == "floor" && w == "transfer") label = "floor: PL/pgSQL loop of the two UPDATEs"
				printf "| %s | %s | %s |\n", label, usfmt(MS[w, v], CALLS[w]), rfmt(bratios(w, v, base)) > f
			}
			if ((w, "convexlite_noop") in BV)
				printf "\nDispatch alone (no-op handler with sendMessage'"'"'s validators): convex_mutation adds %.2f µs a call to the direct call; plain.dispatch adds %.2f µs.\n", \
					(median(MS[w, "convexlite_noop"]) - median(MS[w, "floor_noop"])) * 1000 / CALLS[w], \
					(median(MS[w, "plpgsql_noop"]) - median(MS[w, "floor_noop"])) * 1000 / CALLS[w] > f
			print "" > f
		}
		close(f)
	}
}
function nz(x) { return (x == "" || x == "NaN") ? "?" : x }
' "$OUT/wire.tsv" "$OUT/batch.tsv" "$OUT/cleanup.tsv"

# ---------------------------------------------------------------------------
# The chart: throughput against clients, one panel per workload, sync on
panels=()
for w in send remove heartbeat leave profile dispatch transfer cleanup; do
	[ -s "$TMP/$w.dat" ] && panels+=("$w")
done
if [ ${#panels[@]} -gt 0 ]; then
	cols=4
	[ ${#panels[@]} -lt 4 ] && cols=${#panels[@]}
	rows=$(((${#panels[@]} + cols - 1) / cols))
	{
		printf 'set terminal pngcairo size %d,%d font "Sans,10" noenhanced\n' $((cols * 420)) $((rows * 340 + 60))
		printf 'set output "%s"\n' "$CHART"
		printf 'set datafile missing "?"\n'
		printf 'set multiplot layout %d,%d title "convexlite throughput against clients (pgbench -M prepared, synchronous_commit on; commit %s, %s CPUs)"\n' \
			"$rows" "$cols" "$(meta commit)" "$(meta nproc)"
		printf 'set logscale x 2\nset xrange [%s:%s]\nset xtics (1, 2, 4, 8, 16, 32, 64, 128)\n' \
			"$(awk -v l="$(meta clients)" 'BEGIN { n = split(l, a, " "); m = a[1]; for (i = 2; i <= n; i++) if (a[i] + 0 < m + 0) m = a[i]; print m / 1.3 }')" \
			"$(awk -v l="$(meta clients)" 'BEGIN { n = split(l, a, " "); m = a[1]; for (i = 2; i <= n; i++) if (a[i] + 0 > m + 0) m = a[i]; print m * 1.3 }')"
		printf 'set grid ytics lc rgb "#dddddd"\nset yrange [0:*]\nset offsets 0, 0, graph 0.3, 0\n'
		printf 'set key top left font ",8" samplen 2\nset xlabel "clients"\nset format y "%%.0f"\nset lmargin 9\n'
		printf 'set style line 1 lc rgb "#1f77b4" lw 2 pt 7 ps 0.8\n'
		printf 'set style line 2 lc rgb "#1f77b4" lw 1.5 dt 2 pt 6 ps 0.8\n'
		printf 'set style line 3 lc rgb "#555555" lw 2 pt 5 ps 0.8\n'
		printf 'set style line 4 lc rgb "#d62728" lw 2 pt 9 ps 0.8\n'
		for w in "${panels[@]}"; do
			case $w in
			send) title="messages.send" ;;
			remove) title="messages.remove" ;;
			heartbeat) title="presence.update (100 sessions, 1 room)" ;;
			leave) title="presence.leave" ;;
			profile) title="users.updateProfile" ;;
			dispatch) title="convex_mutation(channels:sendMessage)" ;;
			transfer) title="transferFunds, 100 accounts" ;;
			cleanup) title="heartbeats/s during presence.cleanup" ;;
			esac
			printf 'set title "%s"\n' "$title"
			if [ "$w" = cleanup ]; then printf 'set ylabel "heartbeats/s"\n'; else printf 'set ylabel "tps"\n'; fi
			printf 'plot "%s" using 1:2 with linespoints ls 1 title "convexlite", ' "$TMP/$w.dat"
			printf '"" using 1:3 with linespoints ls 2 title "convexlite, notify off", '
			printf '"" using 1:4 with linespoints ls 3 title "floor", '
			printf '"" using 1:5 with linespoints ls 4 title "PL/pgSQL peer"\n'
		done
		printf 'unset multiplot\n'
	} >"$TMP/chart.gp"
	gnuplot "$TMP/chart.gp"
else
	rm -f "$CHART"
fi

# ---------------------------------------------------------------------------
# RESULTS.md
include() { # FILE TITLE SOURCE
	if [ -s "$1" ]; then
		printf '\n## %s\n\nFrom `%s`.\n\n' "$2" "$3"
		cat "$1"
		printf '\n'
	fi
}
workload_title() {
	case $1 in
	send) echo 'messages.send' ;;
	remove) echo 'messages.remove' ;;
	heartbeat) echo 'presence.update: heartbeat storm (100 sessions, one room)' ;;
	leave) echo 'presence.leave' ;;
	profile) echo 'users.updateProfile' ;;
	dispatch) echo 'convex_mutation dispatch of a registered mutation (channels:sendMessage)' ;;
	transfer) echo 'accounts:transferFunds under contention' ;;
	cleanup) echo "presence.cleanup of $(meta stale) stale rows while heartbeats continue" ;;
	esac
}
workload_notes() {
	case $1 in
	send) echo 'Args `{roomId, content, userName, sessionId}`, signed out. The floor inserts the same row with a UUID for an id.' ;;
	remove) echo 'Each call removes a distinct message: before every run, `bench.refill_remove` sends the messages (user 1'"'"'s, in session `s1`) and lists their ids; each transaction takes the next id from a sequence (every variant, floor included, pays the same sequence and lookup). The caller is signed out and passes `sessionId: "s1"`, so the ownership rule is evaluated to its last clause.' ;;
	heartbeat) echo 'Each transaction moves the cursor of a random one of 100 sessions in one room (so clients collide on rows as a real storm does). The batch updates 100k sessions in room `batch`, each once per run.' ;;
	leave) echo 'Each call removes a distinct session'"'"'s row: `bench.refill_leave` puts the rows back before every run, and each transaction takes the next session from a sequence (every variant pays it).' ;;
	profile) echo 'Each transaction signs in as a random one of 10,000 users with `set_config('"'"'convexlite.user_id'"'"', id, true)` (what `SET LOCAL` does) in the same statement, and sets name and image. The floor updates the same row without identity; the batch signs in before each call the same way (included in convexlite'"'"'s and the peer'"'"'s time, not the floor'"'"'s).' ;;
	dispatch) echo 'Seed 001'"'"'s `channels:sendMessage` (reads the channel with `convex_db_get`, inserts with `convex_db_insert`) to a random one of 100 channels. Floor: the handler called directly (no path lookup, no validation, and its `convex_db_get` takes no row lock). PL/pgSQL peer: `plain.dispatch`, a registry lookup, an args check function and the handler in one `EXECUTE`, a returns check. Inside `convex_mutation` the channel is read `FOR UPDATE` (serializable in effect), so concurrent sends to one channel queue.' ;;
	transfer) echo 'Seed 001'"'"'s `transferFunds` through `convex_mutation` between two distinct random accounts of 100 (wire; clients collide, and opposite-order pairs deadlock: pgbench retries them, and these runs set `deadlock_timeout = '"$(meta deadlock_timeout)"'` for every variant, as the README advises for such workloads, so that one deadlock does not stall a short run for a second), or of 10,000 (batch: one transaction touching 100 rows 2,000 times each would measure its own row-version chains). Floor: the two UPDATEs (`plain.transfer_floor`, one round trip). PL/pgSQL peer: `plain.transfer_funds`, `SELECT … FOR UPDATE` of both, checks, two UPDATEs, two notifications.' ;;
	cleanup) echo 'convexlite and the PL/pgSQL peer announce each deleted row (100k notifications in one commit) unless notify is off; the floor is one `DELETE`.' ;;
	esac
}

commit_line="\`$(meta commit)\` ($(meta commit_subject))"
if [ "$(meta dirty_files)" != 0 ]; then
	commit_line+=" plus uncommitted changes to $(meta dirty_files) tracked file(s)"
	[ -z "${META[dirty_list]:-}" ] || commit_line+=": $(meta dirty_list)"
fi
if [ "$(meta lib_installed)" = "$(meta lib_built)" ]; then
	lib_line="\`convexlite.so\` installed: $(meta lib_installed) (sha256 prefix), the same as the work tree's build"
else
	lib_line="\`convexlite.so\` installed: $(meta lib_installed) (sha256 prefix); the work tree's build is $(meta lib_built): **not the same** (run \`make && make install\` before \`make bench\`)"
fi
duration=$(meta duration_s)
[ "$duration" = '?' ] || duration="$((duration / 60)) min $((duration % 60)) s"

{
	printf '# convexlite benchmark results\n\n'
	printf '<!-- Generated by bench/report.sh from bench/out (make bench). Do not edit by hand: run make bench, or bash bench/report.sh. -->\n\n'
	printf 'Generated by `make bench` (`bench/run.sh`, then `bench/report.sh` from the raw results in `bench/out/`); not edited by hand.\n\n'
	printf '| | |\n|---|---|\n'
	printf '| Commit | %s |\n' "$commit_line"
	printf '| Date | %s (the whole run took %s) |\n' "$(meta date)" "$duration"
	printf '| Machine | %s CPUs (`nproc`), %s, %s GiB memory, Linux %s; load average %s before, %s after. Shared with other work: expect noise of ±10–20%% between runs. |\n' \
		"$(meta nproc)" "$(meta cpu)" "$(meta mem_gib)" "$(meta kernel)" "$(meta load_before)" "$(meta load_after)"
	printf '| PostgreSQL | %s; %s |\n' "$(meta pg_version)" "$(meta pg_settings)"
	printf '| Library | %s |\n' "$lib_line"
	printf '| Settings | pgbench runs of %s s (`BENCH_SECONDS`), %s run(s) a point; clients: %s; synchronous_commit: %s; batches of %s calls, %s runs each; convexlite.notify = off variant: %s |\n' \
		"$(meta seconds)" "$(meta wire_repeats)" "$(meta clients)" "$(meta sync)" "$(meta batch)" "$(meta repeats)" \
		"$([ "$(meta notify_off)" = 1 ] && echo yes || echo no)"
	if [ -n "${META[only]:-}" ]; then
		printf '| Subset | only: %s (`BENCH_ONLY`): a partial run |\n' "$(meta only)"
	fi
	if [ -s "$OUT/failed" ]; then
		printf '| Failed | %s (see bench/out/logs) |\n' "$(tr '\n' ' ' <"$OUT/failed")"
	fi
	cat <<'EOF'

## What is compared

Every workload runs three ways in the same run, side by side:

- **convexlite**: the mutation as shipped (C, `SECURITY DEFINER`, args validated in place, realtime `NOTIFY` of each write). Also with `convexlite.notify = off` ("notify off"), to separate what `NOTIFY` costs: PostgreSQL lets one notifying transaction commit at a time.
- **floor**: the plain prepared statement writing the same row to a table with the same columns, indexes and fillfactor (`plain.*`, `CREATE TABLE … (LIKE convex.… INCLUDING ALL)`): no validation, no identity, no notification. In batches, a PL/pgSQL loop of that statement and, where it makes sense, one set-based statement for all rows.
- **PL/pgSQL peer** (`bench/peers.sql`): the same mutation written in PL/pgSQL, what a user would write instead, with the same checks: args object, required and optional keys typed, no unknown key (22023, Convex's wording), identity from `convexlite.user_id` or the JWT claims (28000 when not an id of users), the seed's ownership and find-or-insert rules, and the same `NOTIFY` payloads (`pg_notify`, honouring `convexlite.notify`). Its ids are the table number in hex and a UUID's hex digits, checked with one regular expression (Convex's base32 and checksum would be loops in PL/pgSQL). It does not have convexlite's per-call limits and time budget, the owner switch or the pinned search_path.

Over the wire every call is its own transaction (pgbench `-M prepared`, `-c N -j N`); the args are JSON text built from pgbench variables and parsed on each call, as a client's would be. At each point the variants run back to back in an order that rotates. Batches time one statement making every call (args built beforehand in a table), so they measure the per-call work without a commit per call; the variants of one run are timed back to back in rotating order too, and their sessions set `convexlite.mutation_timeout = 10min` (the per-call budget stays armed, but one call stalled for a second by the shared machine does not fail a 100,000-call statement). The pgbench scripts are in `bench/wire/`; raw pgbench output is in `bench/out/logs/`.

## Targets

EOF
	if [ -s "$TMP/targets.md" ] && [ "$(wc -l <"$TMP/targets.md")" -gt 2 ]; then
		cat "$TMP/targets.md"
		printf '\nBatch: the median of the run-by-run ratios, with their min–max. Wire: the lowest convexlite / floor ratio over every client count and synchronous_commit setting, and the median of those points (one pgbench run per point unless `BENCH_WIRE_REPEATS` says more, so a single noisy point can decide "missed"). '
		printf 'The uploads, scheduler, presence and memory sections below carry their own targets.\n'
	else
		printf 'No workload of the suite ran; the sections below carry their own targets.\n'
	fi
	if [ -f "$CHART" ] && [ ${#panels[@]} -gt 0 ]; then
		printf '\n## Throughput against clients\n\n![Throughput against client count, one panel per workload, synchronous_commit on](throughput.png)\n\n'
		printf 'Median tps at each client count, `synchronous_commit = on`; the tables below have `off` too. The last panel is the heartbeat rate while a cleanup runs.\n'
	fi
	ls "$TMP"/w_*.md >/dev/null 2>&1 && printf '\n## Workloads\n'
	for w in send remove heartbeat leave profile dispatch transfer cleanup; do
		[ -s "$TMP/w_$w.md" ] || continue
		printf '\n### %s\n\n%s\n\n' "$(workload_title "$w")" "$(workload_notes "$w")"
		cat "$TMP/w_$w.md"
	done
	include "$OUT/storage.md" "Uploads (4 KiB, 1 MiB, 256 MiB)" "bench/storage.sh"
	include "$OUT/scheduler.md" "Scheduler latency and throughput, and NOTIFY" "bench/scheduler.sh"
	include "$OUT/snapshot.md" "Snapshot import against COPY" "bench/snapshot.sh"
	include "$OUT/presence.md" "Presence: HOT heartbeats, table size, cleanup under a storm" "bench/presence.sh"
	include "$OUT/memory.md" "Memory: one backend over many mutations" "bench/memory.sh"
	include "$OUT/contention.md" "Contention: transfers and get-or-create against hand-ordered locks" "bench/contention.sh"
	include "$OUT/versions.md" "Against the previous release: the uncontended paths" "bench/versions.sh"
	include "$OUT/reads.md" "Reads: messages.list and presence.list against the floor and the PL/pgSQL peer" "bench/reads.sh"
	include "$OUT/builder.md" "Query builder: a paginated room and a filtered query" "bench/builder.sh"
	include "$OUT/sharding.md" "Sharding: the front hop, and rooms over nodes" "bench/sharding.sh"
} >"$RESULTS"
printf 'report.sh: wrote %s%s\n' "$RESULTS" "$([ -f "$CHART" ] && [ ${#panels[@]} -gt 0 ] && printf ' and %s' "$CHART")"

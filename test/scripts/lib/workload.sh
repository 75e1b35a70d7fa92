# shellcheck shell=bash
# test/scripts/lib/workload.sh: the mixed workload that crash.sh and soak.sh
# run on a cluster of their own, and the invariants they check.  Source it
# after scripts/lib.sh and checks.sh (it uses psql_db, q, check, pass, fail
# and WORK), with NAME, PORT, DB and WL_KEEP (1 keeps the cluster) set.
#
# The workload, as pgbench scripts (wl_write_scripts DIR), each transaction
# keyed by a random number :k and, once its COMMIT returned, appended to an
# acknowledgement file DIR/ack_<kind> (pgbench's \shell, after the statement):
#   send      messages.send {roomId: "wl", content: "S<k>"}
#   remove    messages.send {content: "R<k>"}, acked as rsend; then
#             messages.remove of it (by its sessionId), acked as remove
#   presence  presence.update {sessionId: "p<k>"}, acked as presence
#   leave     presence.update {sessionId: "l<k>"} (acked as lup), then
#             presence.leave of it (acked as leave)
#   transfer  bank:transfer (a registered mutation: two ctx.db.get in id
#             order, two patches, one ledger document) between two of 20
#             accounts, acked as transfer
#   upload    files.generateUploadUrl, the bytea upload of a text of up to
#             100 kB made from k, files.saveFile; acked as upload "k n sid"
#   uploadlo  the same through a large object (lo_from_bytea and the upload
#             in one transaction), acked as upload too
#   job       ctx.scheduler.runAfter(0..300 ms) of jobs:effect {key}, whose
#             handler writes one plain effects row and one job_docs
#             document, acked as job
#   bad       calls that must fail (wl_expect_error): a wrong type, an
#             unknown field, a malformed id; each must raise its
#             documented SQLSTATE and nothing else
# Every script records the key it attempts in DIR/att_<kind> first.

PGBENCH_PID=

# The cluster goes with the script (checks.sh's EXIT trap calls cleanup),
# also when it is interrupted or timed out.
# shellcheck disable=SC2317
cleanup() {
	[ -n "$PGBENCH_PID" ] && kill "$PGBENCH_PID" 2>/dev/null
	if [ "${WL_KEEP:-0}" = 1 ]; then
		echo "# cluster '$NAME' left running ($CVX_LOGFILE); work files in $WORK"
		return
	fi
	if [ -f "$(cvx_cluster_dir "$NAME")/data/convexlite.conf" ]; then
		cvx_cluster_destroy "$NAME" >/dev/null 2>&1
	fi
	rm -rf "$WORK"
}
trap 'exit 143' TERM
trap 'exit 130' INT

# wl_begin: a fresh cluster (a leftover of an aborted run destroyed), the
# workload's tables and mutations, and its pgbench scripts in $WORK; sets MIX
# to pgbench's -f arguments
wl_begin() {
	own_cluster_fresh pg_cron,convexlite
	if ! wl_setup; then
		fail "setup: the workload's tables and mutations could not be made"
		sed 's/^/    | /' "$WORK/wl-setup.log"
		exit 1
	fi
	wl_write_scripts "$WORK"
	# shellcheck disable=SC2034  # used by the scripts that source this
	read -r -a MIX <<<"$(wl_pgbench_files "$WORK")"
}

# wl_setup: the tables, handlers and mutations of the workload (database $DB)
wl_setup() {
	psql_db >"$WORK/wl-setup.log" 2>&1 <<'EOF'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS convexlite;

SELECT convex_define_table('accounts',
  '{"n":       {"fieldType": {"type": "number"}, "optional": false},
    "balance": {"fieldType": {"type": "number"}, "optional": false}}',
  '{"by_n": ["n"]}') IS NOT NULL AS accounts;
SELECT convex_define_table('ledger',
  '{"key":    {"fieldType": {"type": "string"}, "optional": false},
    "fromId": {"fieldType": {"type": "id", "tableName": "accounts"}, "optional": false},
    "toId":   {"fieldType": {"type": "id", "tableName": "accounts"}, "optional": false},
    "amount": {"fieldType": {"type": "number"}, "optional": false}}',
  '{"by_key": ["key"]}') IS NOT NULL AS ledger;
SELECT convex_define_table('job_docs', '{"key": {"fieldType": {"type": "string"}, "optional": false}}',
  '{"by_key": ["key"]}') IS NOT NULL AS job_docs;
SELECT count(convex_db_insert('accounts', jsonb_build_object('n', i, 'balance', 1000000)))
  FROM generate_series(1, 20) AS i;

-- transferFunds in the seed's order (get from, get to): opposite-order pairs
-- conflict, and convex_mutation runs the loser again (a retry storm under
-- the crashes; README "Concurrency")
CREATE FUNCTION wl_transfer(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    from_id text := args->>'fromId';
    to_id text := args->>'toId';
    amount float8 := (args->>'amount')::float8;
    from_doc jsonb := convex_db_get('accounts', from_id);
    to_doc jsonb := convex_db_get('accounts', to_id);
BEGIN
    IF from_doc IS NULL OR to_doc IS NULL THEN RAISE EXCEPTION 'Account not found'; END IF;
    IF (from_doc->>'balance')::float8 < amount THEN RETURN '"insufficient"'; END IF;
    PERFORM convex_db_patch('accounts', from_id,
                            jsonb_build_object('balance', (from_doc->>'balance')::float8 - amount));
    PERFORM convex_db_patch('accounts', to_id,
                            jsonb_build_object('balance', (to_doc->>'balance')::float8 + amount));
    PERFORM convex_db_insert('ledger', jsonb_build_object('key', args->>'key', 'fromId', from_id,
                                                          'toId', to_id, 'amount', amount));
    RETURN '"done"';
END $$;
SELECT convex_define_mutation('bank:transfer', 'wl_transfer(jsonb)',
  '{"type": "object", "value": {
      "key":    {"fieldType": {"type": "string"}, "optional": false},
      "fromId": {"fieldType": {"type": "id", "tableName": "accounts"}, "optional": false},
      "toId":   {"fieldType": {"type": "id", "tableName": "accounts"}, "optional": false},
      "amount": {"fieldType": {"type": "number"}, "optional": false}}}',
  '{"type": "string"}');

-- one row per run of a job: no unique constraint, so a second run shows
CREATE TABLE effects (key text NOT NULL, backend int NOT NULL DEFAULT pg_backend_pid());
CREATE INDEX effects_key ON effects (key);
CREATE FUNCTION wl_job_effect(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO effects (key) VALUES (args->>'key');
    PERFORM convex_db_insert('job_docs', jsonb_build_object('key', args->>'key'));
    PERFORM pg_sleep(random() * 0.002);
    RETURN 'null';
END $$;
SELECT convex_define_mutation('jobs:effect', 'wl_job_effect(jsonb)',
  '{"type": "object", "value": {"key": {"fieldType": {"type": "string"}, "optional": false}}}',
  '{"type": "null"}', internal => true);

-- wl_expect_error(statement, sqlstate): the statement must fail with that
-- SQLSTATE (its writes roll back with the subtransaction); anything else,
-- success included, is raised as an error the client reports.
CREATE FUNCTION wl_expect_error(statement text, expected text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    got text;
BEGIN
    BEGIN
        EXECUTE statement;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS got = RETURNED_SQLSTATE;
        IF got = expected THEN RETURN; END IF;
        RAISE EXCEPTION 'wl_expect_error: % gave SQLSTATE %, not %', statement, got, expected;
    END;
    RAISE EXCEPTION 'wl_expect_error: % succeeded; expected SQLSTATE %', statement, expected;
END $$;
EOF
}

# wl_write_scripts DIR: the pgbench scripts (DIR/<kind>.sql), acks in DIR
wl_write_scripts() {
	local d=$1
	local key='\set k random(1, 999999999999999)'
	printf '%s\n' "$key" '\set n random(1, 3000)' >"$d/keys.inc"
	{
		echo "$key"
		echo "\\shell echo :k >> $d/att_send"
		echo "SELECT convex_messages_send(jsonb_build_object('roomId', 'wl', 'content', 'S:k', 'userName', 'w', 'sessionId', 's:k'));"
		echo "\\shell echo :k >> $d/ack_send"
	} >"$d/send.sql"
	{
		echo "$key"
		echo "\\shell echo :k >> $d/att_rsend"
		echo "SELECT convex_messages_send(jsonb_build_object('roomId', 'wl', 'content', 'R:k', 'userName', 'w', 'sessionId', 'r:k')) AS mid \\gset"
		echo "\\shell echo :k >> $d/ack_rsend"
		echo "SELECT convex_messages_remove(jsonb_build_object('messageId', ':mid', 'sessionId', 'r:k'));"
		echo "\\shell echo :k >> $d/ack_remove"
	} >"$d/remove.sql"
	{
		echo "$key"
		echo "\\shell echo :k >> $d/att_presence"
		echo "SELECT convex_presence_update(jsonb_build_object('roomId', 'wl', 'sessionId', 'p:k', 'data', jsonb_build_object('status', 'here')));"
		echo "\\shell echo :k >> $d/ack_presence"
	} >"$d/presence.sql"
	{
		echo "$key"
		echo "\\shell echo :k >> $d/att_lup"
		echo "SELECT convex_presence_update(jsonb_build_object('roomId', 'wl', 'sessionId', 'l:k', 'data', '{}'::jsonb));"
		echo "\\shell echo :k >> $d/ack_lup"
		echo "SELECT convex_presence_leave(jsonb_build_object('roomId', 'wl', 'sessionId', 'l:k'));"
		echo "\\shell echo :k >> $d/ack_leave"
	} >"$d/leave.sql"
	{
		echo "$key"
		echo '\set a random(1, 20)'
		echo '\set b (:a + random(1, 19) - 1) % 20 + 1'
		echo '\set amount random(1, 5)'
		echo "\\shell echo :k >> $d/att_transfer"
		echo "SELECT (SELECT _id FROM convex.accounts WHERE n = :a) AS f, (SELECT _id FROM convex.accounts WHERE n = :b) AS t \\gset"
		echo "SELECT convex_mutation('bank:transfer', jsonb_build_object('key', 'T:k', 'fromId', ':f', 'toId', ':t', 'amount', :amount));"
		echo "\\shell echo :k >> $d/ack_transfer"
	} >"$d/transfer.sql"
	{
		cat "$d/keys.inc"
		echo "\\shell echo :k >> $d/att_upload"
		echo "SELECT convex_files_generate_upload_url() AS url \\gset"
		echo "SELECT convex_storage_upload(':url', convert_to(repeat(':k', :n), 'UTF8'), 'text/plain') ->> 'storageId' AS sid \\gset"
		echo "SELECT convex_files_save_file(jsonb_build_object('storageId', ':sid', 'name', 'u:k', 'type', 'text/plain', 'size', length(repeat(':k', :n))));"
		echo "\\shell echo :k :n :sid >> $d/ack_upload"
	} >"$d/upload.sql"
	{
		cat "$d/keys.inc"
		echo "\\shell echo :k >> $d/att_upload"
		echo "SELECT convex_files_generate_upload_url() AS url \\gset"
		echo "BEGIN;"
		echo "SELECT lo_from_bytea(0, convert_to(repeat(':k', :n), 'UTF8')) AS lo \\gset"
		echo "SELECT convex_storage_upload_large_object(':url', :lo::oid, 'text/plain') ->> 'storageId' AS sid \\gset"
		echo "COMMIT;"
		echo "SELECT convex_files_save_file(jsonb_build_object('storageId', ':sid', 'name', 'u:k', 'type', 'text/plain', 'size', length(repeat(':k', :n))));"
		echo "\\shell echo :k :n :sid >> $d/ack_upload"
	} >"$d/uploadlo.sql"
	{
		echo "$key"
		echo '\set delay random(0, 300)'
		echo "\\shell echo :k >> $d/att_job"
		echo "SELECT convex_scheduler_run_after(:delay, 'jobs:effect', jsonb_build_object('key', 'J:k'));"
		echo "\\shell echo :k >> $d/ack_job"
	} >"$d/job.sql"
	{
		echo "SELECT wl_expect_error(\$\$SELECT convex_messages_send('{\"roomId\": 1, \"content\": \"x\", \"userName\": \"w\"}')\$\$, '22023');"
		echo "SELECT wl_expect_error(\$\$SELECT convex_presence_update('{\"roomId\": \"wl\", \"data\": {}, \"extra\": true}')\$\$, '22023');"
		echo "SELECT wl_expect_error(\$\$SELECT convex_messages_remove('{\"messageId\": \"not-an-id\"}')\$\$, '22023');"
		echo "SELECT wl_expect_error(\$\$SELECT convex_mutation('bank:transfer', '{\"key\": \"x\"}')\$\$, '22023');"
	} >"$d/bad.sql"
	touch "$d"/att_{send,rsend,presence,lup,transfer,upload,job} \
		"$d"/ack_{send,rsend,remove,presence,lup,leave,transfer,upload,job}
}

# wl_pgbench_files DIR: the -f arguments of the mix (weights in @)
wl_pgbench_files() {
	local d=$1
	printf '%s ' -f "$d/send.sql@20" -f "$d/remove.sql@10" -f "$d/presence.sql@20" \
		-f "$d/leave.sql@5" -f "$d/transfer.sql@20" -f "$d/upload.sql@5" \
		-f "$d/uploadlo.sql@3" -f "$d/job.sql@12" -f "$d/bad.sql@5"
}

# wl_invariants LABEL: the invariants that hold in any committed state,
# checked in one snapshot (REPEATABLE READ)
wl_invariants() {
	local label=$1 out
	out=$(psql_db -At -F ' ' 2>&1 <<'EOF'
BEGIN ISOLATION LEVEL REPEATABLE READ;
-- balances conserved
SELECT 'balances', sum(balance) = 20000000, count(*) = 20 FROM convex.accounts;
-- every account's balance is its start plus its ledger (no half transfer)
SELECT 'ledger', count(*) FILTER (WHERE a.balance <> 1000000
         - coalesce((SELECT sum(amount) FROM convex.ledger l WHERE l.from_id = a._id), 0)
         + coalesce((SELECT sum(amount) FROM convex.ledger l WHERE l.to_id = a._id), 0)) = 0, 't'
  FROM convex.accounts a;
-- one presence row per session and room
SELECT 'presence', count(*) = count(DISTINCT (room_id, session_id)), 't' FROM convex.presence;
-- every blob is one large object, every large object a blob, contents match
SELECT 'storage', (SELECT count(*) FROM convex._storage s
                    WHERE NOT EXISTS (SELECT 1 FROM pg_largeobject_metadata m WHERE m.oid = s.blob)) = 0,
       (SELECT count(*) FROM pg_largeobject_metadata m
         WHERE NOT EXISTS (SELECT 1 FROM convex._storage s WHERE s.blob = m.oid)) = 0;
SELECT 'blobs', count(*) FILTER (WHERE encode(sha256(lo_get(blob)), 'base64') <> sha256
                                   OR length(lo_get(blob)) <> size) = 0, 't'
  FROM convex._storage;
-- every file's blob exists
SELECT 'files', count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM convex._storage s WHERE s._id = f.storage_id)) = 0, 't'
  FROM convex.files f;
-- a job ran at most once; a successful job once, with its document
SELECT 'jobs', count(*) FILTER (WHERE e > 1 OR d > 1 OR e <> d
                                  OR (state = 'success') <> (e = 1)) = 0, 't'
  FROM (SELECT s.state->>'kind' AS state,
               (SELECT count(*) FROM effects e WHERE e.key = s.args->0->>'key') AS e,
               (SELECT count(*) FROM convex.job_docs j WHERE j.key = s.args->0->>'key') AS d
          FROM convex._scheduled_functions s WHERE s.name = 'jobs:effect') AS j;
COMMIT;
EOF
	)
	if [ "$(printf '%s\n' "$out" | grep -c ' t t$')" = 7 ]; then
		pass "$label: invariants hold (balances, ledger, presence, storage, blobs, files, jobs)"
	else
		fail "$label: an invariant does not hold"
		printf '%s\n' "$out" | sed 's/^/    | /'
	fi
}

# wl_drain_jobs: wait (up to 60 s) until no job of the workload is pending
# or in progress
wl_drain_jobs() {
	local _
	for _ in $(seq 600); do
		[ "$(q "SELECT count(*) FROM convex._scheduled_functions WHERE name = 'jobs:effect'
		         AND state->>'kind' IN ('pending', 'inProgress')")" = 0 ] && return 0
		sleep 0.1
	done
	return 1
}

# wl_check_acks DIR ALLOWANCE LABEL: every acknowledged write is there (and
# every acknowledged remove and leave took effect); nothing is there that no
# client attempted; at most ALLOWANCE writes are there unacknowledged per
# kind (the transactions in flight when the connections were lost).  Run
# after wl_drain_jobs.
wl_check_acks() {
	local d=$1 allowance=$2 label=$3 out
	out=$(psql_db -At -F ' ' 2>&1 <<EOF2
CREATE TEMP TABLE ack (kind text, k text, n int, sid text);
CREATE TEMP TABLE att (kind text, k text);
$(for kind in send rsend remove presence lup leave transfer job; do
		echo "\\copy ack (k) FROM '$d/ack_$kind'"
		echo "UPDATE ack SET kind = '$kind' WHERE kind IS NULL;"
	done)
\\copy ack (k, n, sid) FROM '$d/ack_upload' WITH (DELIMITER ' ')
UPDATE ack SET kind = 'upload' WHERE kind IS NULL;
$(for kind in send rsend presence lup transfer upload job; do
		echo "\\copy att (k) FROM '$d/att_$kind'"
		echo "UPDATE att SET kind = '$kind' WHERE kind IS NULL;"
	done)
CREATE TEMP VIEW msg AS SELECT left(content, 1) AS kind, substr(content, 2) AS k FROM convex.messages WHERE room_id = 'wl';
CREATE TEMP VIEW pres AS SELECT left(session_id, 1) AS kind, substr(session_id, 2) AS k FROM convex.presence WHERE room_id = 'wl';
-- acknowledged and missing (must all be 0)
SELECT 'lost', 'send', count(*) FROM ack a WHERE kind = 'send' AND NOT EXISTS (SELECT 1 FROM msg m WHERE m.kind = 'S' AND m.k = a.k);
SELECT 'lost', 'remove', count(*) FROM ack a WHERE kind = 'remove' AND EXISTS (SELECT 1 FROM msg m WHERE m.kind = 'R' AND m.k = a.k);
SELECT 'lost', 'presence', count(*) FROM ack a WHERE kind = 'presence' AND NOT EXISTS (SELECT 1 FROM pres p WHERE p.kind = 'p' AND p.k = a.k);
SELECT 'lost', 'leave', count(*) FROM ack a WHERE kind = 'leave' AND EXISTS (SELECT 1 FROM pres p WHERE p.kind = 'l' AND p.k = a.k);
SELECT 'lost', 'transfer', count(*) FROM ack a WHERE kind = 'transfer' AND NOT EXISTS (SELECT 1 FROM convex.ledger l WHERE l.key = 'T' || a.k);
SELECT 'lost', 'upload', count(*) FROM ack a WHERE kind = 'upload' AND NOT EXISTS (
    SELECT 1 FROM convex._storage s JOIN convex.files f ON f.storage_id = s._id
     WHERE s._id = a.sid AND f.name = 'u' || a.k
       AND s.sha256 = encode(sha256(convert_to(repeat(a.k, a.n), 'UTF8')), 'base64'));
SELECT 'lost', 'job', count(*) FROM ack a WHERE kind = 'job' AND NOT EXISTS (
    SELECT 1 FROM convex._scheduled_functions s WHERE s.name = 'jobs:effect' AND s.args->0->>'key' = 'J' || a.k
       AND s.state->>'kind' = 'success');
-- there, but never attempted (must all be 0)
SELECT 'forged', 'messages', count(*) FROM msg m WHERE NOT EXISTS (
    SELECT 1 FROM att a WHERE a.kind = CASE m.kind WHEN 'S' THEN 'send' ELSE 'rsend' END AND a.k = m.k);
SELECT 'forged', 'presence', count(*) FROM pres p WHERE NOT EXISTS (
    SELECT 1 FROM att a WHERE a.kind = CASE p.kind WHEN 'p' THEN 'presence' ELSE 'lup' END AND a.k = p.k);
SELECT 'forged', 'ledger', count(*) FROM convex.ledger l WHERE NOT EXISTS (SELECT 1 FROM att a WHERE a.kind = 'transfer' AND 'T' || a.k = l.key);
SELECT 'forged', 'files', count(*) FROM convex.files f WHERE NOT EXISTS (SELECT 1 FROM att a WHERE a.kind = 'upload' AND 'u' || a.k = f.name);
SELECT 'forged', 'jobs', count(*) FROM convex._scheduled_functions s WHERE s.name = 'jobs:effect' AND NOT EXISTS (
    SELECT 1 FROM att a WHERE a.kind = 'job' AND 'J' || a.k = s.args->0->>'key');
-- there, attempted, not acknowledged (each at most the allowance)
SELECT 'unacked', 'send', count(*) FROM msg m WHERE m.kind = 'S' AND NOT EXISTS (SELECT 1 FROM ack a WHERE a.kind = 'send' AND a.k = m.k);
SELECT 'unacked', 'rsend', count(*) FROM msg m WHERE m.kind = 'R' AND NOT EXISTS (SELECT 1 FROM ack a WHERE a.kind IN ('rsend', 'remove') AND a.k = m.k);
SELECT 'unacked', 'transfer', count(*) FROM convex.ledger l WHERE NOT EXISTS (SELECT 1 FROM ack a WHERE a.kind = 'transfer' AND 'T' || a.k = l.key);
SELECT 'unacked', 'job', count(*) FROM convex._scheduled_functions s WHERE s.name = 'jobs:effect' AND NOT EXISTS (
    SELECT 1 FROM ack a WHERE a.kind = 'job' AND 'J' || a.k = s.args->0->>'key');
SELECT 'acked', kind, count(*) FROM ack GROUP BY kind ORDER BY kind;
EOF2
	)
	local bad
	bad=$(printf '%s\n' "$out" | awk -v a="$allowance" '
		($1 == "lost" || $1 == "forged") && $3 != 0 { print }
		$1 == "unacked" && $3 > a { print }
		$1 != "lost" && $1 != "forged" && $1 != "unacked" && $1 != "acked" { print }')
	if [ -z "$bad" ]; then
		pass "$label: every acknowledged write is there, nothing unattempted, unacknowledged within $allowance per kind"
	else
		fail "$label: acknowledged writes missing, or writes nobody made"
		printf '%s\n' "$bad" | sed 's/^/    | /'
	fi
	printf '%s\n' "$out" | awk '$1 == "acked" { printf "    acked %s: %s\n", $2, $3 }
		$1 == "unacked" && $3 > 0 { printf "    in flight, committed, unacknowledged %s: %s\n", $2, $3 }'
}

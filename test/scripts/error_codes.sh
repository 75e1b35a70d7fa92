#!/usr/bin/env bash
# test/scripts/error_codes.sh: every convexlite error carries a JSON DETAIL
# with a stable "code", and none uses SQLSTATE class 08 or 28 (drivers take
# those for connection trouble: psycopg2's OperationalError).
#
# 1. grep: every ERRCODE_ used in src/*.c is resolved through PostgreSQL's
#    errcodes.h; none is of class 08 or 28, nor is any ERRCODE = '08…'/'28…'
#    in the SQL scripts; and each has its line in errors.c's code table.
# 2. SQL: one sample of each error kind (validation, ConvexError, identity,
#    upload URLs, limits, missing documents, NULL arguments, unknown paths,
#    tables, indexes, isolation, pg_cron) is caught, its DETAIL parsed as
#    jsonb, and its code compared with the one the docs promise.
#
# Uses PGHOST/PGPORT/PGUSER (a superuser); creates and drops database
# convexlite_error_codes.  One PASS/FAIL line per check; exit 1 on any failure.
set -uo pipefail

DB=convexlite_error_codes
T0=$(date +%s)
# shellcheck source=test/scripts/lib/checks.sh
. "$(dirname "$0")/lib/checks.sh"
cd "$(dirname "$0")/../.." || exit 1

# --- 1. the source ---------------------------------------------------------------
PG_CONFIG=${PG_CONFIG:-pg_config}
ERRCODES_H="$("$PG_CONFIG" --includedir-server)/utils/errcodes.h"
if [ ! -f "$ERRCODES_H" ]; then
	fail "errcodes.h not found at $ERRCODES_H"
else
	# ERRCODE_NAME -> 5-character SQLSTATE
	declare -A STATE
	while read -r name a b c d e; do
		STATE[$name]="$a$b$c$d$e"
	done < <(sed -nE "s/^#define (ERRCODE_[A-Z0-9_]+)[[:space:]]+MAKE_SQLSTATE\('(.)','(.)','(.)','(.)','(.)'\).*/\1 \2 \3 \4 \5 \6/p" "$ERRCODES_H")
	used=$(grep -ohE 'ERRCODE_[A-Z0-9_]+' src/*.c | sort -u)
	bad=''
	unmapped=''
	for name in $used; do
		st=${STATE[$name]:-}
		if [ -z "$st" ]; then
			fail "src uses $name, which errcodes.h does not define"
			continue
		fi
		case $st in 08* | 28*) bad="$bad $name($st)" ;; esac
		grep -q "{\"$st\", \"" src/errors.c || unmapped="$unmapped $name($st)"
	done
	if [ -z "$bad" ]; then
		pass "no errcode in src/*.c is of class 08 or 28 ($(wc -w <<<"$used") SQLSTATEs used)"
	else
		fail "errcodes of class 08/28 in src/*.c:$bad"
	fi
	if [ -z "$unmapped" ]; then
		pass "every SQLSTATE src/*.c raises has a stable code in errors.c's table"
	else
		fail "SQLSTATEs without a stable code in errors.c:$unmapped"
	fi
	sqlbad=$(grep -nE "ERRCODE[[:space:]]*=[[:space:]]*'(08|28)|invalid_authorization_specification|invalid_password|connection_(exception|failure|does_not_exist)" convexlite--*.sql | grep -v '^convexlite--0.1.0.sql' || true)
	if [ -z "$sqlbad" ]; then
		pass "no SQLSTATE of class 08 or 28 in the update scripts"
	else
		fail "class 08/28 SQLSTATEs in the SQL scripts: $sqlbad"
	fi
fi

# --- 2. samples ------------------------------------------------------------------
if ! fresh_db; then
	fail "could not create database $DB with convexlite"
else
	out=$(psql_db -At -F '|' <<'SQL' 2>&1
CREATE FUNCTION sample(statement text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    state text;
    detail text;
    j jsonb;
BEGIN
    EXECUTE statement;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, detail = PG_EXCEPTION_DETAIL;
    BEGIN
        j := detail::jsonb;
    EXCEPTION WHEN OTHERS THEN
        RETURN state || ' DETAIL is not JSON: ' || coalesce(detail, '(none)');
    END;
    IF jsonb_typeof(j) <> 'object' OR jsonb_typeof(j -> 'code') <> 'string' THEN
        RETURN state || ' DETAIL has no string code: ' || detail;
    END IF;
    RETURN state || ' ' || (j ->> 'code')
        || coalesce(' kind=' || (j ->> 'kind'), '') || coalesce(' path=' || (j ->> 'path'), '')
        || coalesce(' validator=' || (j ->> 'validator'), '');
END $$;
SELECT convex_db_insert('users', '{"name": "Eve"}') AS eve \gset
SELECT convex_files_generate_upload_url() AS used_url \gset
SELECT convex_storage_upload(:'used_url', 'x'::bytea) IS NOT NULL AS uploaded;
SET convexlite.upload_url_ttl = 1;
SELECT convex_files_generate_upload_url() AS expired_url \gset
RESET convexlite.upload_url_ttl;
SELECT pg_sleep(0.01);
SELECT 'validation missing', sample($q$SELECT convex_messages_send('{"roomId": "r", "userName": "u"}')$q$);
SELECT 'validation type', sample($q$SELECT convex_messages_send('{"roomId": "r", "userName": "u", "content": 5}')$q$);
SELECT 'validation extra', sample($q$SELECT convex_messages_send('{"roomId": "r", "userName": "u", "content": "c", "x": 1}')$q$);
SELECT 'schema', sample($q$SELECT convex_db_insert('users', '{"name": 5}')$q$);
SELECT 'unauthorized', sample($q$SELECT convex_users_update_profile('{"name": "x"}')$q$);
SELECT 'convex error', sample($q$SELECT convex_error('{"code": "NOT_FOUND"}')$q$);
SELECT 'convex error text', sample($q$SELECT convex_error('"oops"')$q$);
SELECT 'bad user id', sample($q$SELECT convex_set_user('nope')$q$);
SELECT 'bad claims', sample($q$SELECT set_config('request.jwt.claims', 'nope', true), convex_auth_user_id()$q$);
SELECT 'bad sub', sample($q$SELECT set_config('request.jwt.claims', '{"sub": 5}', true), convex_auth_identity()$q$);
SELECT 'upload url malformed', sample($q$SELECT convex_storage_upload('http://x/api/storage/upload?token=1', 'x'::bytea)$q$);
SELECT 'upload url forged', sample(format('SELECT convex_storage_upload(%L, %L::bytea)', regexp_replace(:'used_url', '[0-9a-f]{36}$', repeat('0', 36)), 'x'));
SELECT 'upload url used', sample(format('SELECT convex_storage_upload(%L, %L::bytea)', :'used_url', 'x'));
SELECT 'upload url expired', sample(format('SELECT convex_storage_upload(%L, %L::bytea)', :'expired_url', 'x'));
SELECT 'null argument', sample($q$SELECT convex_messages_send(NULL)$q$);
SELECT 'missing document', sample(format('SELECT convex_db_delete(%L, %L)', 'users', :'eve') || '; ' || format('SELECT convex_db_delete(%L, %L)', 'users', :'eve'));
SELECT 'no such path', sample($q$SELECT convex_mutation('nope:nope', '{}')$q$);
SELECT 'not a table', sample($q$SELECT convex_db_insert('pg_class', '{}')$q$);
SELECT 'limit', sample($q$SELECT convex_messages_send(jsonb_build_object('roomId', 'r', 'userName', 'u', 'content', repeat('x', 2000000)))$q$);
SELECT 'pg_cron', sample($q$SELECT convex_schedule_jobs()$q$);
SQL
)
	printf '%s\n' "$out" | sed 's/^/    | /' | head -n 40
	expect() {
		local label=$1 want=$2 got
		got=$(printf '%s\n' "$out" | sed -n "s/^$label|//p")
		case $got in
		"$want"*) pass "$label: $got" ;;
		*) fail "$label: expected '$want…', got '${got:-nothing}'" ;;
		esac
	}
	expect 'validation missing' '22023 ARGUMENT_VALIDATION_FAILED kind=missing_field path= validator=v.object('
	expect 'validation type' '22023 ARGUMENT_VALIDATION_FAILED kind=no_match path=.content validator=v.string()'
	expect 'validation extra' '22023 ARGUMENT_VALIDATION_FAILED kind=extra_field'
	expect 'schema' '23514 SCHEMA_VALIDATION_FAILED kind=no_match path=.name validator=v.string()'
	expect 'unauthorized' '42501 UNAUTHORIZED'
	expect 'convex error' 'P0001 NOT_FOUND'
	expect 'convex error text' 'P0001 CONVEX_ERROR'
	expect 'bad user id' '42501 INVALID_IDENTITY'
	expect 'bad claims' '42501 INVALID_IDENTITY'
	expect 'bad sub' '42501 INVALID_IDENTITY'
	expect 'upload url malformed' '22023 UPLOAD_URL_INVALID'
	expect 'upload url forged' '22023 UPLOAD_URL_INVALID'
	expect 'upload url used' '55000 UPLOAD_URL_USED'
	expect 'upload url expired' '55000 UPLOAD_URL_EXPIRED'
	expect 'null argument' '22004 NULL_ARGUMENT'
	expect 'missing document' 'P0002 DOCUMENT_NOT_FOUND'
	expect 'no such path' '42883 FUNCTION_NOT_FOUND'
	expect 'not a table' '42P01 TABLE_NOT_FOUND'
	expect 'limit' '54000 LIMIT_EXCEEDED'
	expect 'pg_cron' '42704 PG_CRON_NOT_INSTALLED'
	# PostgreSQL's own privilege error has no JSON DETAIL: that is how a client
	# tells it from UNAUTHORIZED (both 42501)
	own=$(psql_db -At <<'SQL' 2>&1
CREATE ROLE regress_error_codes_nobody;
SET ROLE regress_error_codes_nobody;
DO $$
DECLARE state text; detail text;
BEGIN
    PERFORM convex_db_insert('users', '{}');
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, detail = PG_EXCEPTION_DETAIL;
    RAISE NOTICE '% [%]', state, detail;
END $$;
RESET ROLE;
DROP ROLE regress_error_codes_nobody;
SQL
)
	case $own in
	*"42501 []"*) pass "PostgreSQL's own permission error is 42501 without a JSON DETAIL" ;;
	*) fail "PostgreSQL's own permission error: $own" ;;
	esac
fi

echo "error_codes: $((CHECKS - FAILURES)) of $CHECKS checks passed in $(($(date +%s) - T0)) s"
if [ "$FAILURES" -ne 0 ]; then
	echo "error_codes: FAIL"
	exit 1
fi
echo "error_codes: PASS"
exit 0

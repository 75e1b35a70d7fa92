--
-- getAuthUserId: convexlite.user_id, else request.jwt.claims' sub
--
SELECT convex_db_insert('users', '{"name": "Carol"}') AS carol \gset

-- Nobody signed in
SELECT convex_auth_user_id() IS NULL AS signed_out;

-- convexlite.user_id
BEGIN;
SET LOCAL convexlite.user_id = :'carol';
SELECT convex_auth_user_id() = :'carol' AS from_setting;
COMMIT;

-- PostgREST's claims: the sub up to the first '|' (Convex Auth subjects)
BEGIN;
SELECT set_config('request.jwt.claims', json_build_object('sub', :'carol' || '|session123', 'role', 'web')::text, true) IS NOT NULL AS claims_set;
SELECT convex_auth_user_id() = :'carol' AS from_claims_with_session;
COMMIT;
BEGIN;
SELECT set_config('request.jwt.claims', json_build_object('sub', :'carol')::text, true) IS NOT NULL AS claims_set;
SELECT convex_auth_user_id() = :'carol' AS from_claims;
-- the setting wins over the claims
SET LOCAL convexlite.user_id = '';
SELECT convex_auth_user_id() = :'carol' AS empty_setting_falls_back;
COMMIT;

-- Claims without a sub, or an empty sub: not signed in
BEGIN;
SELECT set_config('request.jwt.claims', '{"role": "anon"}', true) IS NOT NULL AS claims_set;
SELECT convex_auth_user_id() IS NULL AS no_sub;
SELECT set_config('request.jwt.claims', '{"sub": ""}', true) IS NOT NULL AS claims_set;
SELECT convex_auth_user_id() IS NULL AS empty_sub;
COMMIT;

-- A value that is not an Id<"users"> is an error (28000), never anonymous
SET convexlite.user_id = 'not-an-id';
SELECT regress_try('SELECT convex_auth_user_id()');
SELECT regress_try($$SELECT convex_messages_send('{"roomId": "r", "content": "c", "userName": "u"}')$$);
SELECT count(*) AS messages_written FROM convex.messages;
-- an id of another table
RESET convexlite.user_id;
SELECT convex_messages_send('{"roomId": "r", "content": "c", "userName": "u"}') AS message_id \gset
SET convexlite.user_id = :'message_id';
SELECT regress_try('SELECT convex_auth_user_id()');
RESET convexlite.user_id;
BEGIN;
SELECT set_config('request.jwt.claims', '{"sub": "nope|x"}', true) IS NOT NULL AS claims_set;
SELECT regress_try('SELECT convex_auth_user_id()');
SELECT set_config('request.jwt.claims', 'not json', true) IS NOT NULL AS claims_set;
SELECT regress_try('SELECT convex_auth_user_id()');
COMMIT;
DELETE FROM convex.messages;

-- a sub that is present but not a string is an error, not "signed out";
-- a null sub is signed out
BEGIN;
SELECT set_config('request.jwt.claims', '{"sub": 12345}', true) IS NOT NULL AS claims_set;
SELECT regress_try('SELECT convex_auth_user_id()');
SELECT set_config('request.jwt.claims', '{"sub": ["x"]}', true) IS NOT NULL AS claims_set;
SELECT regress_try('SELECT convex_auth_user_id()');
SELECT set_config('request.jwt.claims', '{"sub": null}', true) IS NOT NULL AS claims_set;
SELECT convex_auth_user_id() IS NULL AS null_sub_signed_out;
COMMIT;

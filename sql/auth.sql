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

-- Every shape of request.jwt.claims (with convexlite.user_id empty): only
-- unset or empty claims, or an object without a "sub" key, are signed out
-- (NULL); everything else that is set is a user or an error (42501 INVALID_IDENTITY).  The
-- README's table in "Identity" lists the same shapes.
CREATE FUNCTION regress_auth_claims(claims text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    result text;
BEGIN
    PERFORM set_config('request.jwt.claims', claims, true);
    result := regress_try('SELECT convex_auth_user_id()');
    IF result = 'ok' THEN
        result := coalesce(regexp_replace(convex_auth_user_id(),
                                          '^[0-9a-hjkmnp-tv-z]{31,37}$', '<users id>'), 'signed out');
    END IF;
    RETURN result;
END $$;
BEGIN;
SELECT shape, regress_auth_claims(claims) AS outcome
  FROM (VALUES ('unset (RESET)', NULL),
               ('empty text', ''),
               ('{}', '{}'),
               ('no sub key', '{"role": "anon"}'),
               ('sub of a user', json_build_object('sub', :'carol')::text),
               ('sub user|session', json_build_object('sub', :'carol' || '|session')::text),
               ('sub user|', json_build_object('sub', :'carol' || '|')::text),
               ('sub ""', '{"sub": ""}'),
               ('sub "|x"', '{"sub": "|x"}'),
               ('sub "|"', '{"sub": "|"}'),
               ('sub null', '{"sub": null}'),
               ('sub 5', '{"sub": 5}'),
               ('sub false', '{"sub": false}'),
               ('sub "nope|x"', '{"sub": "nope|x"}'),
               ('sub " "', '{"sub": " "}'),
               ('whitespace only', '   '),
               ('malformed JSON', '{"sub": '),
               ('not JSON', 'not json'),
               ('a JSON array', '[]'),
               ('a JSON string', '""'),
               ('JSON null', 'null')) AS t(shape, claims);
-- the same through a mutation: nothing is written for a claims error
SELECT set_config('request.jwt.claims', '{"sub": "|x"}', true) IS NOT NULL AS claims_set;
SELECT regress_try($$SELECT convex_messages_send('{"roomId": "r", "content": "c", "userName": "u"}')$$);
SELECT count(*) AS messages_written FROM convex.messages;
COMMIT;
-- a SET (not SET LOCAL) empty convexlite.user_id is signed out too
SET convexlite.user_id = '';
SELECT convex_auth_user_id() IS NULL AS empty_user_id_signed_out;
RESET convexlite.user_id;

-- A value that is not an Id<"users"> is an error (42501 INVALID_IDENTITY), never anonymous
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

-- a sub that is present but not a string is an error, not "signed out"
BEGIN;
SELECT set_config('request.jwt.claims', '{"sub": 12345}', true) IS NOT NULL AS claims_set;
SELECT regress_try('SELECT convex_auth_user_id()');
SELECT set_config('request.jwt.claims', '{"sub": ["x"]}', true) IS NOT NULL AS claims_set;
SELECT regress_try('SELECT convex_auth_user_id()');
COMMIT;

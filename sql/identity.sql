--
-- identity: ctx.auth.getUserIdentity() (convex_auth_identity) and the
-- transaction-local convex_set_user (docs/identity-and-errors.md)
--
SELECT convex_db_insert('users', '{"name": "Dana"}') AS dana \gset

-- signed out: NULL
SELECT convex_auth_identity() IS NULL AS signed_out;

-- PostgREST's verified claims: Convex's UserIdentity.  tokenIdentifier is
-- iss|sub, the OIDC standard claims get Convex's names, registered claims
-- (aud, exp, iat, nbf, jti) are dropped, every other claim is kept.
BEGIN;
SELECT set_config('request.jwt.claims', '{"sub": "user_2abc|sess", "iss": "https://auth.example.com",
  "aud": "app", "exp": 1999999999, "iat": 1, "nbf": 1, "jti": "j",
  "name": "Ann Lee", "given_name": "Ann", "family_name": "Lee", "nickname": "an",
  "preferred_username": "ann", "profile": "https://p", "picture": "https://pic",
  "email": "ann@example.com", "email_verified": true, "gender": "f", "birthdate": "2000-01-01",
  "zoneinfo": "Europe/Paris", "locale": "fr", "phone_number": "+33", "phone_number_verified": false,
  "address": "1 rue", "updated_at": "2024", "role": "web", "org": {"id": 7, "admin": true}}', true) IS NOT NULL AS claims_set;
SELECT jsonb_pretty(convex_auth_identity());
-- a standard claim wins over a custom claim spelled like its Convex name
SELECT set_config('request.jwt.claims', '{"sub": "s", "iss": "i", "givenName": "custom", "given_name": "std"}', true) IS NOT NULL AS claims_set;
SELECT convex_auth_identity();
-- no iss: the issuer is convexlite.url
SELECT set_config('request.jwt.claims', '{"sub": "s"}', true) IS NOT NULL AS claims_set;
SELECT convex_auth_identity();
-- no sub: signed out
SELECT set_config('request.jwt.claims', '{"role": "anon"}', true) IS NOT NULL AS claims_set;
SELECT convex_auth_identity() IS NULL AS signed_out;
COMMIT;

-- claims that are set but bad are refused as getAuthUserId refuses them
CREATE FUNCTION regress_identity_claims(claims text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('request.jwt.claims', claims, true);
    RETURN regress_try('SELECT convex_auth_identity()');
END $$;
SELECT claims, regress_identity_claims(claims) AS outcome
  FROM (VALUES ('not json'), ('[]'), ('{"sub": null}'), ('{"sub": 5}'), ('{"sub": ""}'),
               ('{"sub": "x", "iss": 5}'), ('{"sub": "x", "iss": null}')) AS c(claims);

-- convexlite.user_id (convex_set_user) wins over the claims: a UserIdentity
-- issued at convexlite.url whose subject is the Id<"users">
BEGIN;
SELECT set_config('request.jwt.claims', '{"sub": "other", "iss": "i"}', true) IS NOT NULL AS claims_set;
SELECT convex_set_user(:'dana');
SELECT convex_auth_identity() = jsonb_build_object('tokenIdentifier', 'http://127.0.0.1:3210|' || :'dana',
                                                   'subject', :'dana', 'issuer', 'http://127.0.0.1:3210') AS from_user_id;
COMMIT;

-- ordinary roles may call it
CREATE ROLE regress_identity_app;
SET ROLE regress_identity_app;
BEGIN;
SELECT set_config('request.jwt.claims', '{"sub": "s", "iss": "i"}', true) IS NOT NULL AS claims_set;
SELECT convex_auth_identity() ->> 'tokenIdentifier' AS token_identifier;
COMMIT;
RESET ROLE;

-- inside a registered mutation's handler (which runs as its owner)
CREATE FUNCTION identity_whoami(args jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    RETURN coalesce(convex_auth_identity(), 'null');
END $$;
SELECT convex_define_mutation('identity:whoami', 'identity_whoami(jsonb)', '{"type": "object", "value": {}}');
GRANT EXECUTE ON FUNCTION convex_mutation(text, jsonb) TO regress_identity_app;
SET ROLE regress_identity_app;
SELECT convex_mutation('identity:whoami', '{}');
BEGIN;
SELECT set_config('request.jwt.claims', '{"sub": "s", "iss": "i", "name": "N"}', true) IS NOT NULL AS claims_set;
SELECT convex_mutation('identity:whoami', '{}');
COMMIT;
RESET ROLE;

--
-- convex_set_user: transaction-local, with a bound parameter
--
PREPARE regress_set_user(text) AS SELECT convex_set_user($1);
BEGIN;
EXECUTE regress_set_user(:'dana');
SELECT convex_auth_user_id() = :'dana' AS signed_in;
COMMIT;
-- gone with the transaction (a transaction-mode pooler hands out clean sessions)
SELECT convex_auth_user_id() IS NULL AS signed_out_after_commit;
SELECT current_setting('convexlite.user_id') = '' AS setting_reset;
-- rolled back with a savepoint too
BEGIN;
SAVEPOINT s;
EXECUTE regress_set_user(:'dana');
ROLLBACK TO SAVEPOINT s;
SELECT convex_auth_user_id() IS NULL AS signed_out_after_rollback_to_savepoint;
COMMIT;
-- NULL and '' sign out
BEGIN;
EXECUTE regress_set_user(:'dana');
EXECUTE regress_set_user(NULL);
SELECT convex_auth_user_id() IS NULL AS null_signs_out;
EXECUTE regress_set_user(:'dana');
EXECUTE regress_set_user('');
SELECT convex_auth_user_id() IS NULL AS empty_signs_out;
COMMIT;
-- a malformed id is refused at once, never anonymous
SELECT regress_try('SELECT convex_set_user(''nope'')');
-- a mutation uses it
BEGIN;
EXECUTE regress_set_user(:'dana');
SELECT convex_users_update_profile('{"name": "Dana B"}');
COMMIT;
SELECT convex_db_get('users', :'dana') ->> 'name' AS name;
DEALLOCATE regress_set_user;

DROP FUNCTION regress_identity_claims(text);
SELECT convex_drop_mutation('identity:whoami');
DROP FUNCTION identity_whoami(jsonb);
REVOKE EXECUTE ON FUNCTION convex_mutation(text, jsonb) FROM regress_identity_app;
DROP ROLE regress_identity_app;

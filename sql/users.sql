--
-- users.updateProfile
--
SELECT convex_db_insert('users', '{"name": "Alice", "email": "alice@example.com"}') AS alice \gset
SELECT convex_db_insert('users', '{"name": "Bob"}') AS bob \gset

-- Not signed in: ConvexError UNAUTHORIZED, SQLSTATE 42501, data in DETAIL
SELECT regress_try($$SELECT convex_users_update_profile('{"name": "Mallory"}')$$);
\set VERBOSITY default
SELECT convex_users_update_profile('{"name": "Mallory"}');

-- The seed's example, signed in as Alice
BEGIN;
SET LOCAL convexlite.user_id = :'alice';
SELECT convex_users_update_profile('{"name": "Alice Johnson", "image": "https://example.com/avatar.jpg"}');
COMMIT;
SELECT name, email, image FROM convex.users WHERE _id = :'alice';

-- Only the fields passed change; {} changes nothing
BEGIN;
SET LOCAL convexlite.user_id = :'alice';
SELECT convex_users_update_profile('{"image": "https://example.com/new.png"}');
SELECT convex_users_update_profile('{}');
COMMIT;
SELECT name, image FROM convex.users WHERE _id = :'alice';
-- Bob is untouched
SELECT name, image FROM convex.users WHERE _id = :'bob';

-- Argument validation (22023), in Convex's words
SET convexlite.user_id = :'alice';
SELECT regress_try($$SELECT convex_users_update_profile('{"name": 5}')$$);
SELECT regress_try($$SELECT convex_users_update_profile('{"name": null}')$$);
SELECT regress_try($$SELECT convex_users_update_profile('{"nickname": "Al"}')$$);
SELECT regress_try($$SELECT convex_users_update_profile('[]')$$);
SELECT regress_try($$SELECT convex_users_update_profile('"name"')$$);
SELECT regress_try($$SELECT convex_users_update_profile(NULL)$$);
SELECT name, image FROM convex.users WHERE _id = :'alice';

-- Signed in as a well-formed id of a user that does not exist: Convex's
-- patch error (P0002)
SELECT convex_db_insert('users', '{}') AS ghost \gset
SELECT convex_db_delete('users', :'ghost');
SET convexlite.user_id = :'ghost';
SELECT regress_try($$SELECT convex_users_update_profile('{"name": "Ghost"}')$$);
RESET convexlite.user_id;

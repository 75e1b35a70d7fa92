-- users.updateProfile through convexlite: a random one of 10,000 users, signed in for the transaction the way
-- SET LOCAL convexlite.user_id does (set_config(..., true)), in the same statement: one round trip
\set u random(1, 10000)
\set n random(1, 1000000000)
SELECT convex_users_update_profile(('{"name": "Name ' || :n || '", "image": "https://example.com/' || :n || '.jpg"}')::jsonb)
  FROM bench.users WHERE i = :u AND set_config('convexlite.user_id', cvx, true) IS NOT NULL;

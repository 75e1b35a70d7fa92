-- users.updateProfile, the PL/pgSQL peer: signed in the same way, with the user's id in plain.users
\set u random(1, 10000)
\set n random(1, 1000000000)
SELECT plain.users_update_profile(('{"name": "Name ' || :n || '", "image": "https://example.com/' || :n || '.jpg"}')::jsonb)
  FROM bench.users WHERE i = :u AND set_config('convexlite.user_id', plain, true) IS NOT NULL;

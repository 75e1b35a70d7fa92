-- users.updateProfile's floor: a plain UPDATE of the user's row (the same user lookup, no identity)
\set u random(1, 10000)
\set n random(1, 1000000000)
UPDATE plain.users SET name = 'Name ' || :n, image = 'https://example.com/' || :n || '.jpg'
 WHERE _id = (SELECT plain FROM bench.users WHERE i = :u);

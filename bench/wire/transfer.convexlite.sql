-- accounts:transferFunds through convex_mutation under contention: two distinct random accounts of 100
\set f random(1, 100)
\set t random(1, 99)
\set t case when :t >= :f then :t + 1 else :t end
\set amount random(1, 100)
SELECT convex_mutation('accounts' || ':' || 'transferFunds',
                       ('{"fromId": "' || f.cvx || '", "toId": "' || t.cvx || '", "amount": ' || :amount || '}')::jsonb)
  FROM bench.accounts f, bench.accounts t WHERE f.i = :f AND t.i = :t;

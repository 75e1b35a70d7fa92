-- transferFunds hand-written in PL/pgSQL (SELECT ... FOR UPDATE, checks, two UPDATEs), the same accounts
\set f random(1, 100)
\set t random(1, 99)
\set t case when :t >= :f then :t + 1 else :t end
\set amount random(1, 100)
SELECT plain.transfer_funds(('{"fromId": "' || f.plain || '", "toId": "' || t.plain || '", "amount": ' || :amount || '}')::jsonb)
  FROM bench.accounts f, bench.accounts t WHERE f.i = :f AND t.i = :t;

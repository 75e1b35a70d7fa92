-- transferFunds' floor: the two UPDATEs (plain.transfer_floor, one round trip), nothing read or checked
\set f random(1, 100)
\set t random(1, 99)
\set t case when :t >= :f then :t + 1 else :t end
\set amount random(1, 100)
SELECT plain.transfer_floor(f.plain, t.plain, :amount) FROM bench.accounts f, bench.accounts t WHERE f.i = :f AND t.i = :t;

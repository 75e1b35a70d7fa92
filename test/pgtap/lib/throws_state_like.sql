-- test/pgtap/lib/throws_state_like.sql: included (\ir) by pgTAP files inside
-- their transaction.  throws_state_like(query, sqlstate, LIKE pattern,
-- description): pgTAP's throws_like, but checking the SQLSTATE as well.
CREATE SCHEMA IF NOT EXISTS regress_cvx_tap;
CREATE FUNCTION regress_cvx_tap.throws_state_like(query text, state text, pattern text, descr text)
RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
    EXECUTE query;
    RETURN ok(false, descr) || E'\n' || diag(
        '      caught: no exception' || E'\n      wanted: ' || state || ': ' || pattern);
EXCEPTION WHEN OTHERS THEN
    IF SQLSTATE = state AND SQLERRM LIKE pattern THEN
        RETURN ok(true, descr);
    END IF;
    RETURN ok(false, descr) || E'\n' || diag(
        '      caught: ' || SQLSTATE || ': ' || SQLERRM || E'\n      wanted: ' || state || ': ' || pattern);
END;
$f$;

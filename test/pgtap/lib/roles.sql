-- test/pgtap/lib/roles.sql: included (\ir) by pgTAP files, inside their
-- transaction where they have one.  Roles are cluster-wide, so a file creates
-- the ones it needs when they are missing:
--   SELECT regress_cvx_tap.ensure_roles('', 'regress_a', 'regress_b') \g /dev/null
--   SELECT regress_cvx_tap.ensure_roles('LOGIN', 'regress_c') \g /dev/null
-- options: '' or role options for CREATE ROLE (e.g. 'LOGIN').
CREATE SCHEMA IF NOT EXISTS regress_cvx_tap;
CREATE FUNCTION regress_cvx_tap.ensure_roles(options text, VARIADIC roles text[])
RETURNS void LANGUAGE plpgsql AS $f$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY roles LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I %s', r, options);
        END IF;
    END LOOP;
END;
$f$;

-- test/pgtap/lib/sessions.sql: included (\ir) by pgTAP files that open more
-- sessions with dblink, inside their transaction (so that the functions go
-- with it), in schema regress_cvx_tap:
--   conn(app): a connection string to this database on this server, with
--     application_name app (to find the session in pg_stat_activity);
--   wait_blocked(app): wait (10 s at most) until the session named app
--     waits for a lock; false if it never did.
CREATE SCHEMA IF NOT EXISTS regress_cvx_tap;

CREATE FUNCTION regress_cvx_tap.conn(app text) RETURNS text LANGUAGE sql AS $f$
    SELECT format('dbname=%s port=%s host=%s application_name=%s', current_database(),
                  current_setting('port'), split_part(current_setting('unix_socket_directories'), ',', 1), app)
$f$;

CREATE FUNCTION regress_cvx_tap.wait_blocked(app text) RETURNS boolean LANGUAGE plpgsql AS $f$
DECLARE
    deadline timestamptz := clock_timestamp() + interval '10 s';
BEGIN
    LOOP
        PERFORM pg_stat_clear_snapshot();   -- pg_stat_activity is read once per transaction otherwise
        IF EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = app AND wait_event_type = 'Lock') THEN
            RETURN true;
        END IF;
        IF clock_timestamp() > deadline THEN
            RETURN false;
        END IF;
        PERFORM pg_sleep(0.02);
    END LOOP;
END
$f$;

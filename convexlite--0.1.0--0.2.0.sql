/* convexlite--0.1.0--0.2.0.sql: update convexlite 0.1.0 to 0.2.0 */

\echo Use "ALTER EXTENSION convexlite UPDATE TO '0.2.0'" to load this file. \quit

-- 0.2.0 changes the library only; no SQL object changes.  After
-- installing the new convexlite.so, restart the server (convexlite is
-- preloaded) and run ALTER EXTENSION convexlite UPDATE in each database.
--   - The NOTIFY relay: committed notifications are handed to a background
--     worker (settings convexlite.notify_relay, convexlite.notify_buffer_size).
--   - messages.remove is one conditional DELETE.
--   - A value too large for an index fails with convexlite's own 54000.
--   - A JSON number outside float64's range is refused (22023).
--   - convex_mutation applies the value rules to built-in paths too.
--
-- convexlite--0.1.0.sql is frozen: a fresh CREATE EXTENSION runs it and
-- then this script, so an updated and a fresh install are the same.
-- Changes to SQL objects go into the next update script.

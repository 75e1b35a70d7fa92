/* convexlite--0.2.0--0.3.0.sql: update convexlite 0.2.0 to 0.3.0 */

\echo Use "ALTER EXTENSION convexlite UPDATE TO '0.3.0'" to load this file. \quit

-- After installing the new convexlite.so, restart the server (convexlite is
-- preloaded) and run ALTER EXTENSION convexlite UPDATE in each database.
-- Each change below says what it does and why.

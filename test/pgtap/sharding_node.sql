-- test/pgtap/sharding_node.sql: the node side of sharding (docs/sharding.md)
-- on a server that is not a node (convexlite.node_id = 0, the default):
-- convex_node_id, convex_id_node read against ids made independently of
-- convexlite (lib/convex_ids.sql), and convex_node_enter (the node check,
-- 55000, and the identity it sets for the transaction only).
-- test/scripts/sharding.sh covers nodes with convexlite.node_id set.

SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
DROP EXTENSION IF EXISTS convexlite CASCADE;
CREATE EXTENSION convexlite;
RESET client_min_messages;

BEGIN;
SELECT plan(12);
SET LOCAL client_min_messages = warning;
DROP SCHEMA IF EXISTS regress_cvx_tap CASCADE;
RESET client_min_messages;
SET LOCAL client_min_messages = warning;
\ir lib/convex_ids.sql
RESET client_min_messages;

SELECT is(convex_node_id(), 0, 'not a node: convex_node_id() is 0');
SELECT is(current_setting('convexlite.node_id'), '0', 'convexlite.node_id defaults to 0');
SELECT is(convex_id_node(regress_cvx_tap.make_id(10002, regress_cvx_tap.byte(7) || decode(repeat('ab', 13), 'hex'), 20000)),
          7, 'convex_id_node: the first random byte of an id (2-byte table number)');
SELECT is(convex_id_node(regress_cvx_tap.make_id(1, regress_cvx_tap.byte(200) || decode(repeat('01', 13), 'hex'), 1)),
          200, 'convex_id_node: the first random byte of an id (1-byte table number)');
SELECT is(convex_id_node(regress_cvx_tap.make_id(4294967295, regress_cvx_tap.byte(3) || decode(repeat('ff', 13), 'hex'), 1)),
          3, 'convex_id_node: the first random byte of an id (5-byte table number)');
SELECT is(convex_id_node('not an id'), NULL, 'convex_id_node: NULL for a string that is not an id');
SELECT is(convex_id_node(overlay(convex_messages_send('{"roomId": "r", "content": "c", "userName": "u"}')
                                 PLACING 'zz' FROM 31)), NULL, 'convex_id_node: NULL for an id with a bad checksum');

-- convex_node_enter: the node check, then the identity for the transaction
SELECT throws_ok($$SELECT convex_node_enter(1, NULL, NULL)$$, '55000',
                 'the front sent a call for node 1 to node 0',
                 'convex_node_enter refuses a call meant for another node (55000)');
SELECT convex_db_insert('users', '{"name": "Node user"}') AS uid \gset
SAVEPOINT entered;
SELECT is(convex_node_enter(0, :'uid', NULL), 0, 'convex_node_enter returns the node number');
SELECT is(convex_auth_user_id(), :'uid', 'convex_node_enter sets convexlite.user_id for the transaction');
SELECT is(convex_node_enter(0, NULL, format('{"sub": "%s|s1"}', :'uid')) || '|' || coalesce(convex_auth_user_id(), 'signed out'),
          '0|' || :'uid', 'convex_node_enter with NULL user_id and claims: the sub of the claims is the user');
ROLLBACK TO SAVEPOINT entered;
SELECT is(convex_auth_user_id(), NULL, 'the identity it set does not outlive its transaction');

SELECT * FROM finish();
ROLLBACK;

-- messages.remove through convexlite: each transaction removes the next of the messages bench.refill_remove sent
-- (user 1's, session s1; the caller is signed out and passes sessionId s1), its id handed out by a sequence
SELECT convex_messages_remove(('{"messageId": "' || id || '", "sessionId": "s1"}')::jsonb)
  FROM bench.remove_cvx WHERE i = (SELECT nextval('bench.remove_seq'));

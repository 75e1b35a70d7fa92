-- messages.remove, the PL/pgSQL peer: the next message's id from the same kind of table and sequence
SELECT plain.messages_remove(('{"messageId": "' || id || '", "sessionId": "s1"}')::jsonb)
  FROM bench.remove_plain WHERE i = (SELECT nextval('bench.remove_seq'));

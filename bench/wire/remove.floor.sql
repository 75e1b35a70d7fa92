-- messages.remove's floor: a plain DELETE of the next message by id (the same id lookup as the others)
DELETE FROM plain.messages WHERE _id = (SELECT id FROM bench.remove_plain WHERE i = (SELECT nextval('bench.remove_seq')));

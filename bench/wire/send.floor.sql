-- messages.send's floor: a plain INSERT of the same row
\set n random(1, 1000000000)
INSERT INTO plain.messages (_id, _creation_time, room_id, content, user_name, session_id)
VALUES (gen_random_uuid()::text, date_part('epoch', clock_timestamp()) * 1000, 'general', 'hello ' || :n, 'bench', 's1');

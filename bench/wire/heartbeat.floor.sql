-- presence.update's floor: a plain UPDATE of the session's row (with the partial unique index's predicate, as convexlite's)
\set s random(1, 100)
\set x random(0, 1920)
\set y random(0, 1080)
UPDATE plain.presence SET data = ('{"cursor": {"x": ' || :x || ', "y": ' || :y || '}}')::jsonb,
       last_seen = floor(date_part('epoch', clock_timestamp()) * 1000)
 WHERE session_id = 's' || :s AND room_id = 'room' AND session_id <> '';

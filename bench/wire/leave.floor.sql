-- presence.leave's floor: a plain DELETE of the next session's row
DELETE FROM plain.presence WHERE session_id = (SELECT 'L' || nextval('bench.leave_seq')) AND room_id = 'lobby' AND session_id <> '';

-- presence.cleanup's floor: one plain DELETE of the rows not seen for 30 s
DELETE FROM plain.presence WHERE last_seen < floor(date_part('epoch', clock_timestamp()) * 1000) - 30000;

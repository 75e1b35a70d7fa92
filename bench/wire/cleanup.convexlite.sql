-- presence.cleanup through convexlite (run once by psql while the heartbeat storm goes on)
SELECT convex_presence_cleanup();

-- presence.cleanup, the PL/pgSQL peer
SELECT plain.presence_cleanup();

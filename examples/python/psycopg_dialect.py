"""SQLAlchemy 1.4's PostgreSQL dialect on psycopg 3.

Debian 12 ships SQLAlchemy 1.4 and psycopg 3; SQLAlchemy's own psycopg 3
dialect ("postgresql+psycopg") arrived in 2.0.  The server only runs
text() statements with bound parameters, so the generic PostgreSQL dialect
with psycopg 3 as its DB-API module is all it needs.  Importing this module
registers it under "postgresql+psycopg", the name SQLAlchemy 2.0 uses, so
the engine URL stays valid after an upgrade to 2.0 (then delete this file).
"""

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.postgresql.base import PGDialect


class PGDialectPsycopg3(PGDialect):
    """PostgreSQL through psycopg 3 (server-side binding of %(name)s)."""

    driver = "psycopg"
    supports_statement_cache = True
    supports_server_side_cursors = False
    supports_unicode_statements = True
    supports_unicode_binds = True
    description_encoding = None
    default_paramstyle = "pyformat"

    @classmethod
    def dbapi(cls):
        """The DB-API module: psycopg 3."""
        import psycopg

        return psycopg

    def create_connect_args(self, url):
        """Connection keywords from the URL; an empty URL leaves libpq its PG* environment."""
        opts = url.translate_connect_args(username="user", database="dbname")
        opts.update(url.query)
        return ([], opts)

    def is_disconnect(self, e, connection, cursor):
        """A connection psycopg closed after an error is gone for the pool too."""
        if not isinstance(e, self.dbapi.OperationalError):
            return False
        return connection is None or getattr(connection, "closed", True)


registry.register("postgresql.psycopg", __name__, "PGDialectPsycopg3")

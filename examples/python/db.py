"""The database side: SQLAlchemy's engine and one transaction per request.

convexlite is called only through its functions, with bound parameters:
SQLAlchemy's text() turns :name into psycopg 3's %(name)s, which psycopg 3
binds on the server ($1) without a type, as every driver does; no call needs
a cast.  JSON arguments are sent as JSON text; jsonb results come back as
Python values (psycopg 3 decodes them).
"""

import json
import os

from sqlalchemy import create_engine, text

import psycopg_dialect  # noqa: F401  (registers "postgresql+psycopg" on SQLAlchemy 1.4)
from errors import convex_code

# How many times a request's transaction runs again after a CONFLICT
# (convexlite already retries each mutation call; this covers a conflict of
# the transaction as a whole)
CONFLICT_RETRIES = 3


def make_engine():
    """The engine: DATABASE_URL, or libpq's PG* environment (PGHOST, PGUSER, ...)."""
    url = os.environ.get("DATABASE_URL", "postgresql+psycopg://")
    return create_engine(
        url,
        future=True,
        pool_size=int(os.environ.get("DB_POOL_SIZE", "5")),
        max_overflow=int(os.environ.get("DB_MAX_OVERFLOW", "10")),
        pool_pre_ping=True,
    )


class Convex:
    """convexlite's functions on one connection, inside the request's transaction."""

    def __init__(self, conn):
        self.conn = conn

    def scalar(self, sql, **params):
        """One value of one statement, with bound parameters."""
        return self.conn.execute(text(sql), params).scalar()

    def mutation(self, path, args):
        """convex_mutation(path, args): a public mutation, its result as a Python value."""
        return self.scalar("SELECT convex_mutation(:path, :args)", path=path, args=json.dumps(args))

    def query(self, path, args):
        """convex_query(path, args): a public query, its result as a Python value."""
        return self.scalar("SELECT convex_query(:path, :args)", path=path, args=json.dumps(args))


def in_transaction(engine, user_id, work):
    """work(Convex) in one transaction as user_id (None: signed out); commits, or rolls back on error.

    convex_set_user(:id) is the transaction's first statement: it ends with
    the transaction, so a pooled connection (or PgBouncer in transaction
    mode) never carries the user into another request.  A CONFLICT runs the
    whole transaction again, up to CONFLICT_RETRIES times.
    """
    attempt = 0
    while True:
        try:
            with engine.begin() as conn:
                if user_id is not None:
                    conn.execute(text("SELECT convex_set_user(:id)"), {"id": user_id})
                return work(Convex(conn))
        except Exception as e:  # noqa: BLE001  (re-raised unless it is a conflict)
            if convex_code(e) == "CONFLICT" and attempt < CONFLICT_RETRIES:
                attempt += 1
                continue
            raise

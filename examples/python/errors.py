"""convexlite errors to HTTP replies.

Every error convexlite raises carries a JSON DETAIL with a stable "code"
(docs/identity-and-errors.md, "The codes"); the HTTP status comes from that
code, never from the message text, which is for people.  A ConvexError
(SQLSTATE P0001) is 400 whatever its own code, and its data is passed
through to the client as it is.  An error without a JSON DETAIL is
PostgreSQL's own (a missing grant, a statement timeout, a lost connection):
the client gets a 500 or 503 without the server's text, and the log gets
the text.
"""

import json
import logging

import psycopg
from sqlalchemy import exc as sa_exc

log = logging.getLogger("convexlite.example")

# The status of each code, as the table in docs/identity-and-errors.md gives
# it (test/scripts/example_python.sh checks that the two agree).
CODE_STATUS = {
    "ARGUMENT_VALIDATION_FAILED": 400,
    "RETURNS_VALIDATION_FAILED": 500,
    "SCHEMA_VALIDATION_FAILED": 400,
    "VALIDATION_FAILED": 400,
    "INVALID_ARGUMENT": 400,
    "NULL_ARGUMENT": 400,
    "UNAUTHORIZED": 401,
    "INVALID_IDENTITY": 401,
    "FORBIDDEN": 403,
    "CONVEX_ERROR": 400,
    "DOCUMENT_NOT_FOUND": 404,
    "NOT_FOUND": 404,
    "TABLE_NOT_FOUND": 404,
    "FUNCTION_NOT_FOUND": 404,
    "WRONG_FUNCTION_KIND": 400,
    "LIMIT_EXCEEDED": 400,
    "CONFLICT": 409,
    "UPLOAD_URL_INVALID": 400,
    "UPLOAD_URL_USED": 409,
    "UPLOAD_URL_EXPIRED": 410,
    "WRONG_STATE": 409,
    "LOCK_NOT_AVAILABLE": 503,
    "INVALID_TRANSACTION_STATE": 500,
    "EVAL_ERROR": 400,
    "DIVISION_BY_ZERO": 400,
    "NUMBER_OUT_OF_RANGE": 400,
    "NOT_UNIQUE": 400,
    "INVALID_CURSOR": 400,
    "NODE_UNAVAILABLE": 503,
    "NODE_LOST": 503,
    "DUPLICATE_ID": 409,
    "MISSING_VALUE": 400,
    "DUPLICATE_OBJECT": 409,
    "READ_ONLY": 405,
    "NOT_SUPPORTED": 400,
    "CANCELED": 504,
    "INVALID_NAME": 400,
    "NAME_TOO_LONG": 400,
    "RESERVED_NAME": 400,
    "DUPLICATE_FIELD": 400,
    "FIELD_NOT_FOUND": 400,
    "DUPLICATE_TABLE": 400,
    "DUPLICATE_FUNCTION": 400,
    "INVALID_HANDLER": 400,
    "PG_CRON_NOT_INSTALLED": 500,
    "OUT_OF_MEMORY": 503,
    "DATA_CORRUPTED": 500,
    "INTERNAL_ERROR": 500,
}

# SQLSTATE of a ConvexError thrown with convex_error(data) (UNAUTHORIZED
# ones are 42501 and take their status from the table above)
CONVEX_ERROR_SQLSTATE = "P0001"


class HttpError(Exception):
    """An error reply the server sends as it is: status and JSON body."""

    def __init__(self, status, code, message, data=None):
        super().__init__(message)
        self.status = status
        self.body = {"code": code, "message": message}
        if data is not None:
            self.body["data"] = data


def convex_detail(error):
    """The JSON DETAIL of a convexlite error as a dict, or None (not convexlite's)."""
    orig = getattr(error, "orig", error)  # SQLAlchemy wraps the driver's error
    if not isinstance(orig, psycopg.Error) or orig.diag is None:
        return None
    try:
        detail = json.loads(orig.diag.message_detail or "")
    except ValueError:
        return None
    if isinstance(detail, dict) and isinstance(detail.get("code"), str):
        return detail
    return None


def convex_code(error):
    """The convexlite code of a database error, or None."""
    detail = convex_detail(error)
    return detail["code"] if detail else None


def to_http(error):
    """An HttpError for any exception a request's transaction raised."""
    if isinstance(error, HttpError):
        return error
    orig = getattr(error, "orig", error)
    detail = convex_detail(error)
    if detail is not None:
        code = detail["code"]
        if orig.sqlstate == CONVEX_ERROR_SQLSTATE:
            status = 400
        else:
            status = CODE_STATUS.get(code, 500)
        return HttpError(status, code, orig.diag.message_primary, detail)
    # not convexlite's: do not show the server's text to the client
    log.error("%s: %s", type(orig).__name__, orig)
    if isinstance(orig, psycopg.OperationalError) or isinstance(
        error, (sa_exc.DisconnectionError, sa_exc.TimeoutError)
    ):
        return HttpError(503, "UNAVAILABLE", "the database is not available")
    return HttpError(500, "INTERNAL", "internal error")

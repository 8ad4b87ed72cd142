"""Database driver errors, translated in one place into the service's own errors.

Whichever way a statement ran (through SQLAlchemy, or on asyncpg's or aiosqlite's own
connection) and on either backend, what went wrong is one of:
- a value the database cannot hold (PostgreSQL's SQLSTATE classes 22 "data exception" and 54
  "program limit exceeded", e.g. NUL in text; SQLite's TOOBIG): the client's to fix, 400;
- a constraint that a concurrent change broke (class 23; SQLite's CONSTRAINT): 409;
- the database unreachable or too busy to answer (connection lost or refused, the pool
  exhausted, shutting down, SQLite locked past its busy timeout, I/O errors): 503, retry;
- anything else (a statement the database does not understand): our bug, not translated, so
  it is logged with a trace id and answered 500.

Callers outside store/ name none of the drivers' exceptions: they catch `DRIVER_ERRORS` (the
API's and the dashboard's handlers, which translate), or `StoreFailure`, which
`store_failures()` raises for any driver error (background loops, probes, the CLI), or the
service's own errors.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from promptha_webhooks.errors import (
    ConstraintViolationError,
    InvalidRequestError,
    PrompthaError,
    ServiceUnavailableError,
)

# Exceptions the handlers of the API and the dashboard pass to `translate_driver_error`.
DRIVER_ERRORS: tuple[type[Exception], ...] = (
    DBAPIError,
    PoolTimeoutError,
    ConnectionError,  # Database.driver_connection's, and a refused connection
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    sqlite3.Error,
)

# SQLSTATE classes and codes (PostgreSQL appendix A).
_REFUSED_VALUE_CLASSES = ("22", "54")
_CONFLICT_CLASSES = ("23",)
_UNAVAILABLE_CLASSES = ("08", "53", "57", "58")
_UNAVAILABLE_CODES = ("40001", "40P01", "55P03")  # serialization, deadlock, lock not available

_SQLITE_REFUSED_VALUE = frozenset({sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_MISMATCH})
_SQLITE_UNAVAILABLE = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_NOMEM,
        sqlite3.SQLITE_PROTOCOL,
    }
)
# How far down SQLAlchemy's wrapping (DBAPIError.orig, the adapter's __cause__) to look.
_MAX_WRAPPING = 5

UNAVAILABLE_MESSAGE = "The database is unavailable; retry shortly"


def translate_driver_error(exc: BaseException) -> PrompthaError | None:
    """The service error a database driver's exception means, or None when it means a bug
    (or is no driver error at all)."""
    if isinstance(exc, PoolTimeoutError | ConnectionError):
        return ServiceUnavailableError(UNAVAILABLE_MESSAGE)
    driver = _driver_exception(exc)
    if isinstance(driver, asyncpg.PostgresError):
        return _from_sqlstate(driver)
    if isinstance(driver, asyncpg.InterfaceError | ConnectionError):
        return ServiceUnavailableError(UNAVAILABLE_MESSAGE)
    if isinstance(driver, sqlite3.Error):
        return _from_sqlite(driver)
    return None


def refuses_value(exc: BaseException) -> bool:
    """The database refused a value of the request (nothing was stored): the 400 case."""
    return isinstance(translate_driver_error(exc), InvalidRequestError)


def _driver_exception(exc: BaseException) -> BaseException | None:
    seen: BaseException | None = exc
    for _ in range(_MAX_WRAPPING):
        if seen is None or isinstance(seen, asyncpg.PostgresError | asyncpg.InterfaceError):
            return seen
        if isinstance(seen, sqlite3.Error | ConnectionError):
            return seen
        seen = getattr(seen, "orig", None) or seen.__cause__
    return None


def _from_sqlstate(error: asyncpg.PostgresError) -> PrompthaError | None:
    code = str(getattr(error, "sqlstate", "") or "")
    if code[:2] in _REFUSED_VALUE_CLASSES:
        return _refused_value(error)
    if code[:2] in _CONFLICT_CLASSES:
        return ConstraintViolationError()
    if code[:2] in _UNAVAILABLE_CLASSES or code in _UNAVAILABLE_CODES:
        return ServiceUnavailableError(UNAVAILABLE_MESSAGE)
    return None


def _from_sqlite(error: sqlite3.Error) -> PrompthaError | None:
    code = getattr(error, "sqlite_errorcode", None)
    if code is None:
        return None
    primary = code & 0xFF  # extended result codes keep the primary code in the low byte
    if isinstance(error, sqlite3.DataError) or primary in _SQLITE_REFUSED_VALUE:
        return _refused_value(error)
    if isinstance(error, sqlite3.IntegrityError) or primary == sqlite3.SQLITE_CONSTRAINT:
        return ConstraintViolationError()
    if primary in _SQLITE_UNAVAILABLE:
        return ServiceUnavailableError(UNAVAILABLE_MESSAGE)
    return None


def _refused_value(error: BaseException) -> InvalidRequestError:
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    return InvalidRequestError(f"The request holds a value that cannot be stored: {reason}")


class StoreFailure(Exception):
    """A database statement failed: any driver's or SQLAlchemy's error, wrapped (the cause is
    kept as `__cause__`)."""

    def __init__(self, driver_error: BaseException, reason: BaseException) -> None:
        super().__init__(str(reason))
        # The exception SQLAlchemy or the driver raised, and the driver's own inside it.
        self.driver_error = driver_error
        self.reason = reason

    @property
    def kind(self) -> str:
        """The driver error's class name, for a one-line report."""
        return type(self.driver_error).__name__


@contextmanager
def store_failures() -> Iterator[None]:
    """Any database driver error raised inside as `StoreFailure` (from the driver's)."""
    try:
        yield
    except DRIVER_ERRORS as exc:
        raise StoreFailure(exc, _reason(exc)) from exc


def _reason(exc: BaseException) -> BaseException:
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return exc.orig
    return exc


def database_error_reason(exc: BaseException) -> str | None:
    """The first line of the driver's reason when `exc` comes from the database, else None."""
    if isinstance(exc, StoreFailure):
        return _first_line(exc.reason)
    # Not ConnectionError: the CLI reports a connection it cannot make as such.
    if isinstance(exc, SQLAlchemyError | asyncpg.PostgresError | sqlite3.Error):
        return _first_line(_reason(exc))
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]

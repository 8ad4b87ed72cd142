"""The store owns the database: outside `store/`, no module imports a database driver or names
a driver's exception, and none branches on the backend's name (a `Dialect` object of
store/backends/ answers instead). Read from the source with `ast`, so comments and docs may
still name the drivers."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "promptha_webhooks"

# The receiver (for the applications that receive webhooks: its idempotency stores, its queue
# adapters) talks to the application's own databases: a library of its own, not the service's
# store.
OWN_DRIVERS = ("receiver/",)
# config.py's per-backend default claim batch (the settings' default, read by the claim stage).
ALLOWED_BACKEND_KEYS = {"config.py"}

DRIVER_MODULES = ("asyncpg", "aiosqlite", "sqlite3", "sqlalchemy.exc", "psycopg")
DRIVER_EXCEPTIONS = frozenset(
    {
        "DBAPIError",
        "OperationalError",
        "IntegrityError",
        "InterfaceError",
        "PostgresError",
        "SQLAlchemyError",
        "ProgrammingError",
        "DataError",
    }
)
BACKEND_NAMES = frozenset({"postgresql", "postgres", "sqlite"})


@dataclass(frozen=True, slots=True)
class Finding:
    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def _modules(excluded: tuple[str, ...]) -> list[tuple[str, ast.Module]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith("store/") or relative.startswith(excluded):
            continue
        found.append((relative, ast.parse(path.read_text(), filename=relative)))
    return found


def driver_uses(relative: str, tree: ast.Module) -> list[Finding]:
    findings = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
            names += [alias.name for alias in node.names if alias.name in DRIVER_EXCEPTIONS]
        elif isinstance(node, ast.Attribute) and node.attr in DRIVER_EXCEPTIONS:
            names = [node.attr]
        elif isinstance(node, ast.Name) and node.id in DRIVER_EXCEPTIONS:
            names = [node.id]
        else:
            continue
        for name in names:
            if name in DRIVER_EXCEPTIONS or name.startswith(DRIVER_MODULES):
                findings.append(Finding(relative, node.lineno, name))
    return findings


def _backend_name(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and node.value in BACKEND_NAMES


def backend_branches(relative: str, tree: ast.Module) -> list[Finding]:
    findings = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(
            _backend_name(side) for side in [node.left, *node.comparators]
        ):
            findings.append(Finding(relative, node.lineno, "compares with a backend's name"))
        elif (
            isinstance(node, ast.Dict)
            and relative not in ALLOWED_BACKEND_KEYS
            and any(_backend_name(key) for key in node.keys)
        ):
            findings.append(Finding(relative, node.lineno, "a value per backend name"))
    return findings


def test_no_driver_is_imported_or_caught_outside_the_store() -> None:
    findings = [
        finding
        for relative, tree in _modules(OWN_DRIVERS)
        for finding in driver_uses(relative, tree)
    ]
    assert not findings, "\n".join(map(str, findings))


def test_no_branch_on_the_backend_outside_the_store() -> None:
    findings = [
        finding for relative, tree in _modules(()) for finding in backend_branches(relative, tree)
    ]
    assert not findings, "\n".join(map(str, findings))


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import asyncpg", "asyncpg"),
        ("from sqlalchemy.exc import DBAPIError", "sqlalchemy.exc"),
        ("try:\n    pass\nexcept sqlite3.OperationalError:\n    pass", "OperationalError"),
        ("import aiosqlite", "aiosqlite"),
    ],
)
def test_the_driver_check_sees_imports_and_catches(source: str, expected: str) -> None:
    names = [f.what for f in driver_uses("example.py", ast.parse(source))]
    assert expected in names


@pytest.mark.parametrize(
    "source",
    [
        "if db.backend == 'postgresql':\n    pass",
        "x = 'sqlite' != backend",
        "LIMITS = {'postgresql': 4, 'sqlite': 1}",
    ],
)
def test_the_branch_check_sees_comparisons_and_tables(source: str) -> None:
    assert backend_branches("example.py", ast.parse(source))


def test_comments_and_other_strings_are_not_findings() -> None:
    source = "# asyncpg and sqlite3 are the store's\nURL = 'sqlite:///./data/x.db'\n"
    tree = ast.parse(source)
    assert not driver_uses("example.py", tree)
    assert not backend_branches("example.py", tree)

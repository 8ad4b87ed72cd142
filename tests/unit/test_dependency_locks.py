"""The two lock files: `make run` installs requirements.lock (the runtime, nothing else) and
`make test` adds requirements-dev.lock. The runtime lock must hold exactly what the package's
runtime dependencies need (no test tool, linter or browser driver), every import the package
makes at run time must come from it, and every development tool must be pinned."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "promptha_webhooks"
RUNTIME_LOCK = ROOT / "requirements.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"

# Modules that need what the runtime does not install, and why. The receiver SDK's adapters
# run inside the user's own Flask or Django application; its Redis store and procrastinate
# queue come with the `receiver` extra. Nothing the service itself runs imports them.
OPTIONAL_MODULES = {
    "receiver/adapters/flask.py": "the application's own framework",
    "receiver/adapters/django.py": "the application's own framework",
    "receiver/idempotency/redis.py": "receiver",
    "receiver/queue/procrastinate.py": "receiver",
}
# Never in the runtime lock, whatever else changes.
DEV_TOOLS = ("pytest", "pytest-asyncio", "mypy", "ruff", "playwright", "hypothesis", "mini-racer")


def read_lock(path: Path) -> dict[NormalizedName, str]:
    pins: dict[NormalizedName, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", "-r ")):
            continue
        name, sep, version = line.partition("==")
        assert sep and version, f"{path.name}: {line!r} is not pinned with =="
        pins[canonicalize_name(name)] = version
    return pins


def pyproject() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        project: dict[str, object] = tomllib.load(file)["project"]
    return project


def runtime_requirements() -> list[Requirement]:
    dependencies = pyproject()["dependencies"]
    assert isinstance(dependencies, list)
    return [Requirement(spec) for spec in dependencies]


def extra_requirements(extra: str) -> list[Requirement]:
    extras = pyproject()["optional-dependencies"]
    assert isinstance(extras, dict)
    return [Requirement(spec) for spec in extras[extra]]


def applies(requirement: Requirement, extras: set[str]) -> bool:
    marker = requirement.marker
    return marker is None or any(marker.evaluate({"extra": e}) for e in extras | {""})


def closure(requirements: list[Requirement]) -> set[NormalizedName]:
    """Every distribution those requirements pull in, from the installed metadata (the test
    environment is installed from the locks, so its metadata is the locked versions')."""
    wanted: set[NormalizedName] = set()
    stack = [r for r in requirements if applies(r, set())]
    seen_extras: dict[NormalizedName, set[str]] = {}
    while stack:
        requirement = stack.pop()
        name = canonicalize_name(requirement.name)
        extras = set(requirement.extras)
        if name in wanted and extras <= seen_extras[name]:
            continue
        wanted.add(name)
        seen_extras[name] = seen_extras.get(name, set()) | extras
        for spec in importlib.metadata.requires(requirement.name) or []:
            child = Requirement(spec)
            if applies(child, seen_extras[name]):
                stack.append(child)
    return wanted


def test_the_runtime_lock_holds_exactly_the_runtime_dependencies() -> None:
    locked = set(read_lock(RUNTIME_LOCK))
    needed = closure(runtime_requirements())
    assert locked - needed == set(), "in requirements.lock but not needed at run time"
    assert needed - locked == set(), "needed at run time but missing from requirements.lock"
    for tool in DEV_TOOLS:
        assert canonicalize_name(tool) not in locked


def test_the_dev_lock_adds_every_development_tool_to_the_runtime_pins() -> None:
    runtime, dev = read_lock(RUNTIME_LOCK), read_lock(DEV_LOCK)
    assert "-r requirements.lock" in DEV_LOCK.read_text().splitlines()
    assert set(runtime) & set(dev) == set(), "pinned twice: requirements.lock wins, drop it"
    locked = set(runtime) | set(dev)
    for requirement in extra_requirements("dev"):
        assert canonicalize_name(requirement.name) in locked, requirement.name
    needed = closure(runtime_requirements() + extra_requirements("dev"))
    assert needed - locked == set(), "needed by the dev tools but pinned nowhere"
    # What is installed is what is pinned (the lock is not stale against this environment).
    for name, version in (runtime | dev).items():
        assert importlib.metadata.version(name) == version, name


def _imports(tree: ast.Module) -> list[str]:
    """Module names the code imports when it runs: not under `if TYPE_CHECKING:` and not in a
    `try:` that handles ImportError (those degrade by design, e.g. tracing without otel)."""
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and ast.unparse(node.test) in {
            "TYPE_CHECKING",
            "typing.TYPE_CHECKING",
        }:
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Try) and any(
            handler.type is not None
            and {"ImportError", "ModuleNotFoundError"} & set(ast.unparse(handler.type).split())
            for handler in node.handlers
        ):
            for child in [*node.handlers, *node.orelse, *node.finalbody]:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(node.module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _owners() -> dict[Path, NormalizedName]:
    """Installed file → the distribution that installed it."""
    owners: dict[Path, NormalizedName] = {}
    for dist in importlib.metadata.distributions():
        for file in dist.files or []:
            owners[Path(str(dist.locate_file(file))).resolve()] = canonicalize_name(
                dist.metadata["Name"]
            )
    return owners


def _distribution_of(module: str, owners: dict[Path, NormalizedName]) -> NormalizedName:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None, f"cannot find {module}"
    origin = Path(spec.origin).resolve()
    assert origin in owners, f"{module} ({origin}) belongs to no installed distribution"
    return owners[origin]


def test_every_import_the_package_makes_at_run_time_is_in_the_runtime_lock() -> None:
    runtime = set(read_lock(RUNTIME_LOCK))
    owners = _owners()
    receiver_extra = {canonicalize_name(r.name) for r in extra_requirements("receiver")}
    checked: set[NormalizedName] = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        for module in _imports(ast.parse(path.read_text(), str(path))):
            top = module.split(".")[0]
            if top in sys.stdlib_module_names or top in {"__future__", "promptha_webhooks"}:
                continue
            dist = _distribution_of(module, owners)
            checked.add(dist)
            if dist in runtime:
                continue
            why = OPTIONAL_MODULES.get(relative)
            assert why is not None, f"{relative} imports {module} ({dist}), not a runtime pin"
            if why == "receiver":
                assert dist in receiver_extra, f"{relative}: {dist} is not in the receiver extra"
    # The walk saw the service's own stack (the check above ran on real imports).
    assert {"fastapi", "fastapi-offline", "uvicorn", "sqlalchemy", "typer"} <= checked

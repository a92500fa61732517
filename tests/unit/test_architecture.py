"""The layout's rules, read from the source: shared/ imports no service, services import
each other only where the design allows (the CLI drives them all; the API serves through the
serving core), no import cycle (function-level imports included), small API modules."""

from __future__ import annotations

import ast
import itertools
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("shared", "services")
#: service -> other services it may import
ALLOWED = {"cli": {"api", "generator", "metrics", "trainer", "predictor"}, "api": {"predictor"}}
API_MODULE_MAX_LINES = 300


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Project modules ``name`` imports anywhere in its file (``from a import b`` counts as
    ``a.b`` when that is a module, else ``a``)."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, set(modules)) for name, path in modules.items()}


def _service(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "services" and len(parts) > 1 else None


def test_shared_imports_no_service(graph):
    offending = {
        (m, t) for m, targets in graph.items() if m.startswith("shared") for t in targets
        if t.startswith("services")
    }  # fmt: skip
    assert not offending


def test_services_import_each_other_only_where_allowed(graph):
    offending = set()
    for module, targets in graph.items():
        source = _service(module)
        for target in targets:
            other = _service(target)
            if source and other and other != source and other not in ALLOWED.get(source, ()):
                offending.add((module, target))
    assert not offending


def test_no_import_cycles(graph):
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if target in graph and state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target in graph and target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, cycles[:3]


def test_the_rules_would_catch_a_violation(tmp_path):
    """The walker sees function-level and relative imports (the rules are not vacuous)."""
    path = tmp_path / "mod.py"
    path.write_text("def f():\n    from services.trainer import training\n\nfrom . import b\n")
    known = {"services.trainer.training", "services.api", "services.api.b"}
    found = _imports("services.api.mod", path, known)
    assert found == {"services.trainer.training", "services.api", "services.api.b"}


def test_api_modules_stay_small():
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text().splitlines())
        for path in (ROOT / "services" / "api").rglob("*.py")
    }
    assert sizes and max(sizes.values()) <= API_MODULE_MAX_LINES, sizes


KINDS_TABLE = ROOT / "shared" / "contracts" / "kinds.py"


def _spellings(node: ast.AST) -> list[str]:
    """What in ``node`` spells a job kind, task name or queue itself: a task name anywhere; a
    kind as ``submit``'s first argument, a ``"kind"`` value or a ``.kind`` comparison; a queue
    as a ``queue=`` keyword or Celery's ``-Q`` option."""
    from shared.contracts import QUEUES, TASKS, JobKind

    kinds = {str(kind) for kind in JobKind}

    def literal(value: ast.AST, names: set[str]) -> bool:
        return isinstance(value, ast.Constant) and value.value in names

    found = []
    if literal(node, set(TASKS.values())):
        found.append(f"task name {node.value!r}")  # type: ignore[attr-defined]
    if isinstance(node, ast.Call):
        callee = getattr(node.func, "attr", getattr(node.func, "id", ""))
        if callee == "submit" and node.args and literal(node.args[0], kinds):
            found.append(f"kind {node.args[0].value!r} submitted")  # type: ignore[attr-defined]
        for keyword in node.keywords:
            if keyword.arg == "queue" and literal(keyword.value, set(QUEUES)):
                found.append(f"queue {keyword.value.value!r}")  # type: ignore[attr-defined]
    if isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values, strict=True):
            if key is not None and literal(key, {"kind"}) and literal(value, kinds):
                found.append(f"kind {value.value!r} in a dict")  # type: ignore[attr-defined]
    if isinstance(node, ast.Compare):
        sides = [node.left, *node.comparators]
        if any(getattr(s, "attr", None) == "kind" for s in sides) and any(
            literal(s, kinds) for s in sides
        ):
            found.append("kind compared as a literal")
    if isinstance(node, ast.List | ast.Tuple):
        for flag, value in itertools.pairwise(node.elts):
            if literal(flag, {"-Q", "--queues"}) and literal(value, set(QUEUES)):
                found.append(f"queue {value.value!r} after -Q")  # type: ignore[attr-defined]
    return found


def test_job_kinds_task_names_and_queues_are_spelled_only_in_the_kinds_table():
    """Before: the kind -> task -> queue -> worker table was written in shared/queue.py, the
    ``@job_task`` names, the launcher's WORKERS and every worker's summary (``"kind": "mjd"``)."""
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno}: {spelling}"  # type: ignore[attr-defined]
        for path in _modules().values()
        if path != KINDS_TABLE
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        for spelling in _spellings(node)
    ]
    assert found == []


SETTINGS_MODULE = ROOT / "shared" / "platform" / "settings.py"
#: (file, environment read) -> why it is not a setting
ENVIRONMENT_READS_ALLOWED = {
    # mjd worker and mjd up pass the environment on to child processes, they read no setting
    ("services/cli/launcher.py", "dict(os.environ)"): "copied for child processes",
    # thread-library knobs, not mjd settings
    ("services/__init__.py", "os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')"): "OpenMP",
    ("services/generator/backends/local.py", "os.environ.get('OMP_NUM_THREADS')"): "OpenMP",
    # moves to Settings.datasets_dir on another branch of issue 21: drop this line on merging it
}


def _environment_reads(source: str) -> list[tuple[int, str]]:
    """Each read of ``os.environ`` or ``os.getenv`` (line, the expression reading it); writes
    (``os.environ[name] = ...``) pass settings on to later reads and are not counted."""
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            found += [
                (node.lineno, f"from os import {alias.name}")
                for alias in node.names
                if alias.name in {"environ", "getenv", "environb"}
            ]
        is_os = isinstance(node, ast.Attribute) and ast.unparse(node.value) == "os"
        if not is_os or node.attr not in {"environ", "getenv", "environb"}:  # type: ignore[union-attr]
            continue
        expression = node
        parent = parents.get(expression)
        if isinstance(parent, ast.Subscript) and isinstance(parent.ctx, ast.Store):
            continue
        while (
            isinstance(parent, ast.Attribute)
            or (isinstance(parent, ast.Subscript) and parent.value is expression)
            or (isinstance(parent, ast.Call) and expression in (parent.func, *parent.args))
        ):
            expression, parent = parent, parents.get(parent)
        found.append((node.lineno, ast.unparse(expression)))
    return sorted(found)


def test_environment_reads_go_through_settings():
    """Every mjd variable is read by shared/platform/settings.py (declared there with its default
    and doc, listed in the README); elsewhere only the reads ENVIRONMENT_READS_ALLOWED explains."""
    reads = {
        (str(path.relative_to(ROOT)), line, read)
        for path in _modules().values()
        if path != SETTINGS_MODULE
        for line, read in _environment_reads(path.read_text())
    }
    found = sorted(r for r in reads if (r[0], r[2]) not in ENVIRONMENT_READS_ALLOWED)
    assert found == [], "read these through shared.platform.settings (a setting field, env_setting)"
    stale = set(ENVIRONMENT_READS_ALLOWED) - {(path, read) for path, _, read in reads}
    assert not stale, f"no longer read, drop from ENVIRONMENT_READS_ALLOWED: {stale}"


def test_the_environment_rule_would_catch_a_read():
    source = (
        "import os\nfrom os import getenv\nA = os.environ.get('MJD_X')\nB = os.getenv('Y')\n"
        "C = os.environ['Z']\nos.environ['W'] = '1'\nD = dict(os.environ)\n"
    )
    assert _environment_reads(source) == [
        (2, "from os import getenv"),
        (3, "os.environ.get('MJD_X')"),
        (4, "os.getenv('Y')"),
        (5, "os.environ['Z']"),
        (7, "dict(os.environ)"),
    ]


#: third-party packages of the platform: the core (shared/ outside shared/platform) needs none
PLATFORM_PACKAGES = (
    "celery",
    "redis",
    "kombu",
    "sqlalchemy",
    "alembic",
    "prometheus_client",
    "litestar",
)
MAX_MODULE_LINES = 400
#: modules allowed past MAX_MODULE_LINES, each with why splitting it would not help
LONG_MODULES: dict[str, str] = {}


def _third_party_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_the_core_imports_no_platform_module_and_no_platform_package():
    """Before: 8 modules of shared/ imported Celery, Redis, Prometheus or SQLAlchemy, and the
    method imported the settings."""
    modules = _modules()
    known = set(modules)
    core = {
        name: path
        for name, path in modules.items()
        if name.startswith("shared") and not name.startswith("shared.platform")
    }
    assert "shared.metrics" in core and "shared.platform.settings" not in core
    wrong = {
        name: sorted(
            {m for m in _imports(name, path, known) if m.startswith("shared.platform")}
            | (_third_party_imports(path) & set(PLATFORM_PACKAGES))
        )
        for name, path in core.items()
    }
    assert {name: found for name, found in wrong.items() if found} == {}


def test_no_module_is_longer_than_400_lines():
    long = {
        name: len(path.read_text().splitlines())
        for name, path in _modules().items()
        if len(path.read_text().splitlines()) > MAX_MODULE_LINES and name not in LONG_MODULES
    }
    assert long == {}


def _declared_distributions() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {
        re.split(r"[<>=\[ ;!~]", d)[0].lower().replace("_", "-") for d in project["dependencies"]
    }


def test_every_third_party_package_the_code_imports_is_declared():
    """Before: numba, msgspec and kombu were imported directly but came in only as other
    packages' dependencies."""
    distributions = packages_distributions()
    declared = _declared_distributions()
    undeclared = {}
    for path in _modules().values():
        for top in _third_party_imports(path):
            if top in sys.stdlib_module_names or top in PACKAGES or top == "__future__":
                continue
            names = {d.lower().replace("_", "-") for d in distributions.get(top, [])}
            if not names & declared:
                undeclared.setdefault(top, str(path.relative_to(ROOT)))
    assert undeclared == {}

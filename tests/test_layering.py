"""No private name crosses a module (the import direction itself is `lint-imports`, run by scripts/test.sh).

A name with a leading underscore is its module's own business: another module neither imports it
(``from mlplab.io import _is_int``) nor reaches for it (``net._forward(...)`` outside network.py).
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "mlplab"


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _defined_here(tree: ast.Module) -> set[str]:
    """Every private name a module defines: functions, classes, variables, attributes it assigns, parameters."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return {n for n in names if _private(n)}


def _crossings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    own = _defined_here(tree)
    where = path.relative_to(SRC.parent)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("mlplab")):
            found += [f"{where}:{node.lineno} imports {a.name} from {node.module}" for a in node.names
                      if _private(a.name)]
        elif isinstance(node, ast.Attribute) and _private(node.attr) and node.attr not in own:
            base = ast.unparse(node.value)
            if base not in ("self", "cls", "super()"):
                found.append(f"{where}:{node.lineno} uses {base}.{node.attr}, private to another module")
    return found


def test_no_private_name_crosses_a_module():
    found = [line for path in sorted(SRC.rglob("*.py")) for line in _crossings(path)]
    assert not found, "\n".join(found)


def test_the_scan_catches_both_kinds(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from mlplab.modelfile import _check_split\n\ndef f(net):\n    return net._forward(1)\n")
    global SRC
    saved, SRC = SRC, tmp_path
    try:
        found = _crossings(bad)
    finally:
        SRC = saved
    assert len(found) == 2 and "_check_split" in found[0] and "net._forward" in found[1]



def _unannotated(path: Path) -> list[str]:
    """Public functions and methods (not nested, not numba kernels) with a parameter or return left unannotated."""
    tree = ast.parse(path.read_text(), str(path))
    where = path.relative_to(SRC.parent)
    found = []

    def visit(node: ast.AST, prefix: str) -> None:
        for ch in ast.iter_child_nodes(node):
            if isinstance(ch, ast.ClassDef) and not _private(ch.name):
                visit(ch, f"{prefix}{ch.name}.")
            elif isinstance(ch, ast.FunctionDef | ast.AsyncFunctionDef) and not _private(ch.name):
                if any("jit" in ast.unparse(d) for d in ch.decorator_list):
                    continue  # numba infers a kernel's types when it compiles it; annotations would go unchecked
                a = ch.args
                params = [*a.posonlyargs, *a.args, *a.kwonlyargs, *(x for x in (a.vararg, a.kwarg) if x)]
                missing = [p.arg for p in params if p.annotation is None and p.arg not in ("self", "cls")]
                if missing or (ch.returns is None and ch.name != "__init__"):
                    found.append(f"{where}:{ch.lineno} {prefix}{ch.name} ({', '.join(missing) or 'return'})")

    visit(tree, "")
    return found


def test_every_public_function_is_annotated():
    """mypy (scripts/test.sh) checks what is annotated; this makes sure every public function is."""
    found = [line for path in sorted(SRC.rglob("*.py"))
             if not any(_private(part) for part in path.relative_to(SRC).parts if part != "__init__.py")
             for line in _unannotated(path)]
    assert not found, "\n".join(found)


# ------------------------------------------------------------------ the environment is read at the CLI edge only
CLI_EDGE = ("cli",)  # src/mlplab/cli/: the `mlplab` command, the playground's command included (cli/playground.py)
ENV_READERS = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}


def _env_reads(path: Path) -> list[str]:
    """Every ``os.environ`` / ``os.getenv`` (and ``from os import environ``) in a module, as where:line."""
    tree = ast.parse(path.read_text(), str(path))
    where = path.relative_to(SRC.parent)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ENV_READERS and ast.unparse(node.value) == "os":
            found.append(f"{where}:{node.lineno} reads os.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            found += [f"{where}:{node.lineno} imports {a.name} from os" for a in node.names if a.name in ENV_READERS]
    return found


def test_only_the_cli_reads_the_environment():
    """The library takes parameters (e.g. ``data_paths=``, ``engine=``, ``threads=``); `cli/` reads the variables."""
    found = [line for path in sorted(SRC.rglob("*.py")) if path.relative_to(SRC).parts[0] not in CLI_EDGE
             for line in _env_reads(path)]
    assert not found, "\n".join(found)


def test_the_environment_scan_catches_every_spelling(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nfrom os import environ, getenv\n\na = os.environ.get('X')\nb = os.getenv('Y')\n"
                   "c = environ['Z']\n")
    global SRC
    saved, SRC = SRC, tmp_path
    try:
        found = _env_reads(bad)
    finally:
        SRC = saved
    assert sorted(f.split(" ", 1)[1] for f in found) == ["imports environ from os", "imports getenv from os",
                                                         "reads os.environ", "reads os.getenv"], found

"""Figures for a closing note about the code itself: lines of src/, the longest functions, public functions
without full annotations. Usage: python scripts/code_figures.py [SRC_DIR] [--top N]

Lines: every line of every .py file under SRC_DIR (as `wc -l`). A function's length: its last line minus its
first (decorators excluded) plus one, nested functions counted inside their parent and on their own.
Annotated: every parameter but self/cls and the return (``__init__`` excepted) carries an annotation; public:
no part of its module path and not its own name starts with an underscore; numba kernels (@jit/@njit) included.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def functions(root: Path) -> list[tuple[int, str, ast.FunctionDef | ast.AsyncFunctionDef, bool]]:
    """(lines, module:qualified name, node, public) for every function and method under ``root``."""
    out = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        module = path.relative_to(root).with_suffix("").as_posix()
        public_module = not any(_private(p) for p in path.relative_to(root).parts if p != "__init__.py")

        def visit(node: ast.AST, prefix: str, public: bool, module: str = module) -> None:
            for ch in ast.iter_child_nodes(node):
                if isinstance(ch, ast.ClassDef):
                    visit(ch, f"{prefix}{ch.name}.", public and not _private(ch.name))
                elif isinstance(ch, ast.FunctionDef | ast.AsyncFunctionDef):
                    n = (ch.end_lineno or ch.lineno) - ch.lineno + 1
                    out.append((n, f"{module}:{prefix}{ch.name}", ch, public and not _private(ch.name)))
                    visit(ch, f"{prefix}{ch.name}.<locals>.", False)

        visit(tree, "", public_module)
    return out


def annotated(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    a = fn.args
    params = [*a.posonlyargs, *a.args, *a.kwonlyargs, *(x for x in (a.vararg, a.kwarg) if x)]
    if any(p.annotation is None and p.arg not in ("self", "cls") for p in params):
        return False
    return fn.returns is not None or fn.name == "__init__"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", nargs="?", default="src")
    ap.add_argument("--top", type=int, default=10)
    args = ap.parse_args()
    root = Path(args.src)
    lines = sum(len(p.read_text().splitlines()) for p in root.rglob("*.py"))
    fns = functions(root)
    public = [f for f in fns if f[3]]
    bare = [f for f in public if not annotated(f[2])]
    print(f"src lines (.py): {lines}")
    print(f"functions: {len(fns)}; public: {len(public)}; public without full annotations: {len(bare)}"
          + (f" ({', '.join(name for _, name, _, _ in bare)})" if len(bare) <= 10 else ""))
    print(f"longest {args.top} functions (lines):")
    for n, name, _, _ in sorted(fns, key=lambda f: -f[0])[: args.top]:
        print(f"  {n:4d}  {name}")


if __name__ == "__main__":
    main()

"""The package's layers and the direction of its imports (docs/architecture.md, "Layers").

Layers, lowest first: the top-level base modules (errors, io, constants), then
model <- data <- run <- eval <- train <- analysis <- apps <- cli. A module imports only from its
own layer or lower ones, and only at the top of the file; the CLI, whose commands import their
libraries when they run (so `coconut-lm --help` stays fast), is the one exception.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "coconut_lm"
LAYERS = ("base", "model", "data", "run", "eval", "train", "analysis", "apps", "cli")
FACADES = {"__init__", "__main__"}
"""The package's public names and `python -m coconut_lm`: they stand above every layer."""


def layer_of(module: str) -> str:
    """The layer of a dotted module name inside the package."""
    parts = module.split(".")
    if len(parts) == 1 or parts[1] not in LAYERS:
        return "base"
    return parts[1]


def modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(p for p in rel.parts if p != "__init__") if rel.name == "__init__" else ".".join(rel.parts)
        out.append((name, path))
    return out


def package_imports(path: Path) -> list[tuple[int, str, bool]]:
    """(line, imported module, at top level) for every import of the package in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    for node in tree.body:  # `if TYPE_CHECKING:` blocks count as the top of the file
        if isinstance(node, ast.If):
            top.update(id(n) for n in node.body)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("coconut_lm"):
            targets = [node.module]
            if node.module in {"coconut_lm", *(f"coconut_lm.{layer}" for layer in LAYERS)}:
                targets = [f"{node.module}.{alias.name}" for alias in node.names]
            found += [(node.lineno, t, id(node) in top) for t in targets]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name, id(node) in top) for a in node.names if a.name.startswith("coconut_lm")]
    return found


def test_every_module_is_in_a_layer():
    for name, path in modules():
        parts = name.split(".")
        if len(parts) > 1 and path.parent != PACKAGE:
            assert parts[1] in LAYERS, f"{path}: folder {parts[1]!r} is not a layer {LAYERS}"


@pytest.mark.parametrize("name,path", modules(), ids=[n for n, _ in modules()])
def test_imports_flow_down(name, path):
    if path.stem in FACADES and path.parent == PACKAGE:
        return
    own = LAYERS.index(layer_of(name))
    for line, target, at_top in package_imports(path):
        assert LAYERS.index(layer_of(target)) <= own, (
            f"{path.name}:{line}: {name} ({LAYERS[own]}) imports {target} ({layer_of(target)}), a higher layer"
        )
        if layer_of(name) != "cli":
            assert at_top, f"{path.name}:{line}: import {target} inside a function (only the CLI may)"

"""The import direction of docs/architecture.md: a package imports only from lower layers
(and from inside itself). Function-level imports count too."""
import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "umer1"

# Keep in step with the table in docs/architecture.md.
LAYERS = {
    "utils": 0,
    "engine": 1, "umer1": 1.5,         # `umer1` itself re-exports the engine's public API
    "data": 2, "store": 2, "routing": 2,
    "train": 3, "eval": 3, "index": 3, "serve": 3, "annotate": 3, "mmeb": 3,
    "experiments": 4, "integrations": 4,
    "cli": 5,
}


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else "umer1"


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "umer1":   # `from umer1 import x`: x may be a subpackage
                for alias in node.names:
                    yield f"umer1.{alias.name}" if alias.name in LAYERS else "umer1", node.lineno
            elif node.module.startswith("umer1."):
                yield node.module, node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "umer1" or alias.name.startswith("umer1."):
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            yield "(relative)", node.lineno


def test_every_package_has_a_layer():
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    modules = {p.stem for p in SRC.glob("*.py") if p.stem != "__init__"}
    assert modules == set(), f"the package root holds only __init__.py; move {sorted(modules)}"
    assert packages <= set(LAYERS), f"give {sorted(packages - set(LAYERS))} a layer"


def test_imports_go_down_the_layers():
    bad = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC.parent)
        own = _package(".".join(rel.with_suffix("").parts))
        for target, line in _imports(path):
            if target == "(relative)":
                bad.append(f"{rel}:{line} uses a relative import")
                continue
            other = _package(target)
            if other == own:
                continue
            if LAYERS[other] >= LAYERS[own]:
                bad.append(f"{rel}:{line} ({own}, layer {LAYERS[own]}) imports {target} "
                           f"({other}, layer {LAYERS[other]})")
    assert not bad, "imports against the layers:\n" + "\n".join(bad)


def test_modules_stay_small_or_say_why():
    long = []
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > 350 and "Longer than 350 lines because" not in text[:3000]:
            long.append(f"{path.relative_to(SRC.parent)} ({text.count(chr(10))} lines)")
    assert not long, "modules over 350 lines without a reason at the top: " + ", ".join(long)

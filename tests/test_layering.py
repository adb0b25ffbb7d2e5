"""Imports run one way: genart and scorers know nothing of each other or of evolve; inside evolve,
commands (cli, bench) → run folder → execution backends → search → genart/scorers, and only
__main__ imports the CLI."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"genart": {"scorers", "evolve"}, "scorers": {"genart", "evolve"}}
# evolve's layers, top first; a module may import its own layer or any layer below it.
EVOLVE_LAYERS = (("evolve.cli", "evolve.bench"), ("evolve.runfolder",), ("evolve.backends",),
                 ("evolve.search",))


def imports_of(path: Path) -> list[str]:
    """Every module name a file imports, at top level or inside functions."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            names += [base] + [f"{base}.{alias.name}" for alias in node.names]
    return names


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(name: str) -> int | None:
    for depth, prefixes in enumerate(EVOLVE_LAYERS):
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            return depth
    return None


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_stay_in_their_layer(package):
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in imports_of(path):
            assert name.split(".")[0] not in FORBIDDEN[package], f"{path}: imports {name}"


def test_evolve_layers_import_only_downwards():
    checked = 0
    for path in sorted((ROOT / "evolve").rglob("*.py")):
        own = layer_of(module_name(path))
        for name in imports_of(path):
            target = layer_of(name)
            if own is not None and target is not None:
                checked += 1
                assert target >= own, f"{module_name(path)} imports {name}, a layer above it"
    assert checked > 20        # the rule saw the real imports


def test_nothing_but_main_imports_the_cli():
    for path in sorted(p for package in ("genart", "scorers", "evolve")
                       for p in (ROOT / package).rglob("*.py")):
        name = module_name(path)
        if name == "evolve.__main__" or name.startswith("evolve.cli"):
            continue
        cli = [n for n in imports_of(path) if n == "evolve.cli" or n.startswith("evolve.cli.")]
        assert not cli, f"{name} imports the CLI: {cli}"


def test_search_never_imports_the_run_folder_or_commands():
    for path in sorted((ROOT / "evolve" / "search").rglob("*.py")):
        for name in imports_of(path):
            assert not name.startswith(("evolve.runfolder", "evolve.cli", "evolve.bench",
                                        "evolve.backends")), \
                f"{path}: imports {name}"

"""The layering of docs/architecture.md, checked: which part of the code may import which.

Every `import` and `from ... import` of every module is read (lazy imports inside functions too) and resolved to
its top-level part of the project; an import that the table below does not allow fails with its file and line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# part -> the project parts it may import (itself always allowed); external libraries are not restricted here
ALLOWED = {
    "pix2pix_hub.networks": {"pix2pix_hub.hub"},
    "pix2pix_hub.data": {"pix2pix_hub.images"},
    "pix2pix_hub.inference": {"pix2pix_hub.networks", "pix2pix_hub.images", "pix2pix_hub.hub"},
    "pix2pix_hub.evaluation": {
        "pix2pix_hub.inference",
        "pix2pix_hub.networks",
        "pix2pix_hub.data",
        "pix2pix_hub.images",
        "pix2pix_hub.hub",
        "pix2pix_hub.palettes",
    },
    "pix2pix_hub.methods": {
        "pix2pix_hub.networks",
        "pix2pix_hub.data",
        "pix2pix_hub.losses",
        "pix2pix_hub.evaluation",
        "pix2pix_hub.hub",
    },
    "pix2pix_hub.training": {"pix2pix_hub.methods", "pix2pix_hub.data", "pix2pix_hub.hub", "pix2pix_hub.images"},
    "space": {"pix2pix_hub"},
    "benchmarks": {"pix2pix_hub", "space"},
}
FORBIDDEN_EVERYWHERE_IN_THE_LIBRARY = ("space", "tests", "benchmarks", "recipes", "app", "train_accelerate")


def imported_modules(path: Path, repo: Path = REPO) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in `path`, relative imports resolved."""
    package = ".".join(path.relative_to(repo).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            found.append((node.lineno, module))
    return found


def part_of(module: str) -> str | None:
    """The layer a module belongs to (the longest key of ALLOWED or allowed target that prefixes it)."""
    candidates = set(ALLOWED) | {target for targets in ALLOWED.values() for target in targets}
    matches = [part for part in candidates if module == part or module.startswith(part + ".")]
    return max(matches, key=len) if matches else None


def violations(part: str, repo: Path = REPO) -> list[str]:
    root = repo.joinpath(*part.split("."))
    problems = []
    for path in sorted(root.rglob("*.py")) if root.is_dir() else []:
        for line, module in imported_modules(path, repo):
            top = module.split(".")[0]
            if top not in ("pix2pix_hub", "space", "tests", "benchmarks", "recipes"):
                continue
            target = part_of(module) or top
            if target == part or module.startswith(part + ".") or target in ALLOWED[part]:
                continue
            if any(module == allowed or module.startswith(allowed + ".") for allowed in ALLOWED[part]):
                continue
            problems.append(f"{path.relative_to(repo)}:{line} imports {module}")
    return problems


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_each_layer_imports_only_what_docs_architecture_allows(part):
    assert violations(part) == []


def test_the_library_never_imports_the_space_the_tests_or_the_scripts():
    problems = [
        f"{path.relative_to(REPO)}:{line} imports {module}"
        for path in sorted((REPO / "pix2pix_hub").rglob("*.py"))
        for line, module in imported_modules(path)
        if module.split(".")[0] in FORBIDDEN_EVERYWHERE_IN_THE_LIBRARY
    ]
    assert problems == []


SHARED_METHOD_MODULES = ("pix2pix_hub.methods", "pix2pix_hub.methods.base", "pix2pix_hub.methods.gan")


def paper_method_imports(repo: Path = REPO) -> list[str]:
    """Imports of a paper's method module from the library outside `methods/` and from the app (`space/`, app.py):
    only the registry (`pix2pix_hub.methods`), the base and the shared GAN mechanics may be reached from there."""
    files = [*(repo / "pix2pix_hub").rglob("*.py"), *(repo / "space").rglob("*.py"), repo / "app.py"]
    return [
        f"{path.relative_to(repo)}:{line} imports {module}"
        for path in sorted(file for file in files if file.is_file())
        if path.relative_to(repo).parts[:2] != ("pix2pix_hub", "methods")
        for line, module in imported_modules(path, repo)
        if module.startswith("pix2pix_hub.methods") and module not in SHARED_METHOD_MODULES
    ]


def test_no_paper_method_is_imported_outside_methods_and_the_registry(tmp_path):
    assert paper_method_imports() == []
    probe = tmp_path / "pix2pix_hub" / "calibrate.py"  # the checker can fail: a tool reaching into a method
    probe.parent.mkdir(parents=True)
    probe.write_text("from .methods.everybody_dance_now import judge\n", encoding="utf-8")
    assert paper_method_imports(tmp_path) == [
        "pix2pix_hub/calibrate.py:1 imports pix2pix_hub.methods.everybody_dance_now"
    ]


def test_the_check_sees_a_forbidden_import(tmp_path):
    """A network module importing the trainer, lazily inside a function, is caught (the checker can fail)."""
    module = tmp_path / "pix2pix_hub" / "networks" / "probe.py"
    module.parent.mkdir(parents=True)
    module.write_text("import torch\n\n\ndef f():\n    from ..training import loop\n", encoding="utf-8")
    assert violations("pix2pix_hub.networks", tmp_path) == [
        "pix2pix_hub/networks/probe.py:5 imports pix2pix_hub.training"
    ]


def test_the_trainer_parser_and_every_built_in_recipe_load_without_torch():
    """`train_accelerate.py --help` stays instant: nothing on its path imports torch, accelerate or datasets."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from pix2pix_hub.methods import BUILT_IN, get_method\n"
        "from pix2pix_hub.training.arguments import build_parser\n"
        "for name in BUILT_IN:\n"
        "    build_parser(name).format_help(); get_method(name).Recipe()\n"
        "print(sorted(name for name in ('torch', 'accelerate', 'datasets') if name in sys.modules))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"

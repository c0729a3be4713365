"""The layout's rules hold: synthesis imports no Lambda asset, and the import contracts `make lint` checks
catch a runtime module that imports infrastructure and infrastructure that imports runtime code."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.synth_fixtures import BackgroundSynth

LINT_IMPORTS = Path(shutil.which("lint-imports") or REPO_ROOT / ".venv" / "bin" / "lint-imports")
ASSETS = "services/items/runtime:services/platform/runtime"


def test_synthesis_imports_no_lambda_asset(background_synths: dict[str, BackgroundSynth]) -> None:
    returncode, output = background_synths["python app.py"].wait()
    assert returncode == 0, output[-3000:]
    imported = re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)$", output, re.MULTILINE)
    assert "aws_cdk" in imported, "the synth's import list was captured"
    assert [m for m in imported if m.split(".")[0] in ("items_runtime", "deploy_hooks", "aws_lambda_powertools")] == []


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        env={"PYTHONPATH": ASSETS, "PATH": str(LINT_IMPORTS.parent)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The packages the contracts name, copied, so a test can break a rule without touching the tree."""
    copy = tmp_path_factory.mktemp("layout")
    for name in ("config", "pipeline", "stages", "services", "compliance", "tools", "pyproject.toml"):
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__", "*.json"))
        else:
            shutil.copy2(source, copy / name)
    return copy


def test_the_import_contracts_hold(tree_copy: Path) -> None:
    result = _lint(tree_copy)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout


def _broken_by(tree: Path, module: str, line: str) -> str:
    path = tree / module
    original = path.read_text()
    path.write_text(f"{line}\n{original}")
    try:
        result = _lint(tree)
    finally:
        path.write_text(original)
    assert result.returncode != 0
    return result.stdout


def test_a_runtime_module_importing_cdk_breaks_the_contracts(tree_copy: Path) -> None:
    output = _broken_by(tree_copy, "services/items/runtime/items_runtime/models.py", "import aws_cdk  # noqa")
    assert "Runtime code imports no infrastructure BROKEN" in output


def test_a_construct_importing_runtime_code_breaks_the_contracts(tree_copy: Path) -> None:
    output = _broken_by(tree_copy, "services/items/api.py", "import items_runtime.models  # noqa")
    assert "Infrastructure imports no runtime code BROKEN" in output

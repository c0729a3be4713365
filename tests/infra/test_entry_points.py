"""`python app.py` and `cdk synth` (both build_app()) produce byte-identical templates, offline."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.synth_fixtures import CDK_CLI, BackgroundSynth, offline_env

COMPARED = ("*.template.json", "*.assets.json")


def synthesized_files(outdir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(outdir)): p.read_bytes() for pattern in COMPARED for p in sorted(outdir.rglob(pattern))}


@pytest.fixture(scope="module")
def entry_point_outputs(background_synths: dict[str, BackgroundSynth]) -> dict[str, Path]:
    outputs = {}
    for name in ("python app.py", "cdk synth"):
        returncode, output = background_synths[name].wait()
        assert returncode == 0, f"{name} failed:\n{output[-3000:]}"
        outputs[name] = background_synths[name].outdir
    return outputs


def test_python_app_writes_every_stack(entry_point_outputs: dict[str, Path]) -> None:
    files = synthesized_files(entry_point_outputs["python app.py"])
    assert len([name for name in files if name.endswith(".template.json")]) >= 6


def test_cdk_cli_writes_the_same_templates_as_python_app(entry_point_outputs: dict[str, Path]) -> None:
    # Both run build_app(); the CLI adds its own context (asset metadata), which app.py loads too.
    assert synthesized_files(entry_point_outputs["cdk synth"]) == synthesized_files(
        entry_point_outputs["python app.py"]
    )


def test_cdk_cli_writes_one_assembly_per_environment_and_region(entry_point_outputs: dict[str, Path]) -> None:
    assemblies = sorted(p.name for p in entry_point_outputs["cdk synth"].glob("assembly-*"))
    assert assemblies == [
        "assembly-Pipeline-dev",
        "assembly-Pipeline-prod-eu-central-1",
        "assembly-Pipeline-prod-eu-west-1",
        "assembly-Pipeline-staging",
    ]


def test_bad_context_override_stops_cdk_synth_naming_the_key(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(CDK_CLI), "synth", "--quiet", "--output", str(tmp_path), "-c", "environments.prod.account=12ab"],
        cwd=REPO_ROOT,
        env=offline_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode != 0
    assert "environments.prod.account: '12ab' is not a 12-digit AWS account id" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr + result.stdout


def test_python_app_reports_a_bad_config_file_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "overrides.json"
    bad.write_text('{"pipeline": {"region": "mars"}}')
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=offline_env(CDK_OUTDIR=str(tmp_path / "out"), CDK_CONTEXT_JSON=f'{{"config_file": "{bad}"}}'),
    )
    assert result.returncode == 2
    assert "pipeline.region: 'mars' is not an AWS region name" in result.stderr
    assert not (tmp_path / "out" / "manifest.json").exists()

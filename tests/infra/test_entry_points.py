"""`python app.py`, `cdk synth` and build_app() produce byte-identical templates, offline."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.infra.conftest import Synthesized

CDK_CLI = REPO_ROOT / "node_modules" / ".bin" / "cdk"
COMPARED = ("*.template.json", "*.assets.json")


def offline_env(**extra: str) -> dict[str, str]:
    """No credentials, no metadata service, no telemetry: what a fresh CI machine has."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    venv_bin = str(Path(sys.executable).parent)
    env.update(
        PATH=os.pathsep.join([venv_bin, str(REPO_ROOT / "node_modules" / ".bin"), env.get("PATH", "")]),
        AWS_EC2_METADATA_DISABLED="true",
        CDK_DISABLE_CLI_TELEMETRY="true",
        **extra,
    )
    return env


def synthesized_files(outdir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(outdir)): p.read_bytes() for pattern in COMPARED for p in sorted(outdir.rglob(pattern))}


@pytest.fixture(scope="module")
def entry_point_outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    assert CDK_CLI.exists(), "the pinned CDK CLI is missing: run `make install`"
    python_out = tmp_path_factory.mktemp("python-app")
    cli_out = tmp_path_factory.mktemp("cdk-cli")
    runs = {
        "python app.py": subprocess.Popen(
            [sys.executable, "app.py"],
            cwd=REPO_ROOT,
            env=offline_env(CDK_OUTDIR=str(python_out)),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ),
        "cdk synth": subprocess.Popen(
            [str(CDK_CLI), "synth", "--quiet", "--output", str(cli_out)],
            cwd=REPO_ROOT,
            env=offline_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ),
    }
    for name, process in runs.items():
        output, _ = process.communicate(timeout=300)
        assert process.returncode == 0, f"{name} failed:\n{output[-3000:]}"
    return {"python app.py": python_out, "cdk synth": cli_out}


def test_python_app_writes_the_same_templates_as_build_app(
    synthesized: Synthesized, entry_point_outputs: dict[str, Path]
) -> None:
    expected = synthesized_files(synthesized.outdir)
    assert len([name for name in expected if name.endswith(".template.json")]) >= 6
    assert synthesized_files(entry_point_outputs["python app.py"]) == expected


def test_cdk_cli_writes_the_same_templates_as_build_app(
    synthesized: Synthesized, entry_point_outputs: dict[str, Path]
) -> None:
    assert synthesized_files(entry_point_outputs["cdk synth"]) == synthesized_files(synthesized.outdir)


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

"""What the pipeline builds is what was deployed: the pipeline's own Synth step, run in a clean clone,
writes byte-identical templates to `python app.py` and to the CDK CLI of the documented deploy command
(both build_app()), offline; configuration given anywhere but the committed files is refused."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.synth_fixtures import CDK_CLI, BackgroundSynth, offline_env, synth_step_commands

COMPARED = ("*.template.json", "*.assets.json")


def synthesized_files(outdir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(outdir)): p.read_bytes() for pattern in COMPARED for p in sorted(outdir.rglob(pattern))}


@pytest.fixture(scope="module")
def entry_point_outputs(background_synths: dict[str, BackgroundSynth]) -> dict[str, Path]:
    outputs = {}
    for name in ("python app.py", "synth step in a clean clone"):
        returncode, output = background_synths[name].wait()
        assert returncode == 0, f"{name} failed:\n{output[-3000:]}"
        outputs[name] = background_synths[name].outdir
    return outputs


def test_python_app_writes_every_stack(entry_point_outputs: dict[str, Path]) -> None:
    files = synthesized_files(entry_point_outputs["python app.py"])
    assert len([name for name in files if name.endswith(".template.json")]) >= 6


def test_the_synth_step_in_a_clean_clone_writes_the_pipeline_the_deploy_command_deploys(
    entry_point_outputs: dict[str, Path],
) -> None:
    """`make deploy-pipeline` deploys what `cdk synth` writes here (the CLI runs build_app() through
    cdk.json's app command); the pipeline's Synth step runs buildspec.yml's `make synth` on a clean
    checkout. Self-mutation would otherwise redeploy the pipeline towards another configuration."""
    step = synthesized_files(entry_point_outputs["synth step in a clean clone"])
    assert (
        step["Pipeline.template.json"]
        == synthesized_files(entry_point_outputs["python app.py"])["Pipeline.template.json"]
    )


def test_the_synth_step_writes_the_same_templates_as_python_app(entry_point_outputs: dict[str, Path]) -> None:
    # Both run build_app(); the CLI adds its own context (asset metadata), which app.py loads too.
    assert synthesized_files(entry_point_outputs["synth step in a clean clone"]) == synthesized_files(
        entry_point_outputs["python app.py"]
    )


def test_the_synth_step_runs_make_synth_from_the_buildspec() -> None:
    assert synth_step_commands(REPO_ROOT / "buildspec.yml") == ["make synth"]


def test_cdk_cli_writes_one_assembly_per_environment_and_region(entry_point_outputs: dict[str, Path]) -> None:
    assemblies = sorted(p.name for p in entry_point_outputs["synth step in a clean clone"].glob("assembly-*"))
    assert assemblies == [
        "assembly-Pipeline-dev",
        "assembly-Pipeline-prod-eu-central-1",
        "assembly-Pipeline-prod-eu-west-1",
        "assembly-Pipeline-staging",
    ]


def _cdk_synth(tmp_path: Path, *context: str, **env: str) -> subprocess.CompletedProcess[str]:
    arguments = [item for pair in context for item in ("-c", pair)]
    return subprocess.run(
        [str(CDK_CLI), "synth", "--quiet", "--output", str(tmp_path), *arguments],
        cwd=REPO_ROOT,
        env=offline_env(**env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_cli_override_of_configuration_is_refused_naming_the_committed_alternative(tmp_path: Path) -> None:
    result = _cdk_synth(tmp_path, "environments.prod.account=444455556666")
    output = result.stderr + result.stdout
    assert result.returncode != 0
    assert "environments.prod.account: set outside the committed files" in output
    assert "cdk.json's context.config_file" in output
    assert "Traceback" not in output
    assert not (tmp_path / "manifest.json").exists()


def test_a_bad_override_in_a_local_experiment_stops_cdk_synth_naming_the_key(tmp_path: Path) -> None:
    result = _cdk_synth(tmp_path, "environments.prod.account=12ab", LOCAL_EXPERIMENT="1")
    output = result.stderr + result.stdout
    assert result.returncode != 0
    assert "environments.prod.account: '12ab' is not a 12-digit AWS account id" in output
    assert "Traceback" not in output


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
        env=offline_env(
            CDK_OUTDIR=str(tmp_path / "out"), CDK_CONTEXT_JSON=f'{{"config_file": "{bad}"}}', LOCAL_EXPERIMENT="1"
        ),
    )
    assert result.returncode == 2
    assert "pipeline.region: 'mars' is not an AWS region name" in result.stderr
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_python_app_py_refuses_arguments_it_would_ignore() -> None:
    result = subprocess.run(
        [sys.executable, "app.py", "-c", "environments.prod.account=444455556666"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("synth stopped: python app.py takes no arguments (got '-c environments.prod.account=444455556666')")
    )

"""buildspec.yml: the synth step runs Makefile targets, so CodeBuild and developers run the same commands."""

import os
import subprocess
from pathlib import Path

import pytest
from aws_cdk import aws_codebuild as codebuild

from pipeline.buildspec import BuildSpecError, load_buildspec, synth_build_spec
from services.platform.lambda_runtime import LAMBDA_RUNTIME
from tests.conftest import REPO_ROOT
from tools.run_buildspec import commands_by_phase, main

BUILDSPEC = REPO_ROOT / "buildspec.yml"


def test_every_buildspec_command_is_a_make_target_or_exports_a_pipeline_variable() -> None:
    spec = load_buildspec(BUILDSPEC)
    commands = commands_by_phase(spec)
    assert commands
    for _, command in commands:
        assert command.startswith(("make ", "export COMPLIANCE_SUMMARY=", "export IMPACT_SUMMARY=")), command


def test_buildspec_runs_install_lint_test_and_synth_in_order() -> None:
    assert [c for _, c in commands_by_phase(load_buildspec(BUILDSPEC)) if c.startswith("make ")] == [
        "make install",
        "make lint",
        "make test",
        "make baseline-fetch",
        "make synth",
        "make evidence",
    ]


def test_every_make_target_the_pipeline_calls_exists() -> None:
    targets = {c.split()[1] for _, c in commands_by_phase(load_buildspec(BUILDSPEC)) if c.startswith("make ")}
    targets |= {"install-e2e", "e2e", "ci", "audit", "baseline-record"}
    for target in sorted(targets):
        result = subprocess.run(["make", "-n", target], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"make {target}: {result.stderr}"


def test_buildspec_publishes_junit_test_and_compliance_results() -> None:
    reports = load_buildspec(BUILDSPEC)["reports"]
    assert reports["tests"] == {"base-directory": "reports", "files": ["junit.xml"], "file-format": "JUNITXML"}
    assert reports["compliance"] == {
        "base-directory": "cdk.out/compliance",
        "files": ["junit.xml"],
        "file-format": "JUNITXML",
    }


def test_evidence_upload_is_skipped_outside_codebuild() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEBUILD_")}
    result = subprocess.run(["make", "evidence"], cwd=REPO_ROOT, capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0
    assert "not in CodeBuild, nothing uploaded" in result.stdout


@pytest.mark.parametrize(
    ("target", "message"), [("baseline-fetch", "no baseline"), ("baseline-record", "nothing recorded")]
)
def test_baselines_are_neither_fetched_nor_recorded_outside_codebuild(target: str, message: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEBUILD_")}
    result = subprocess.run(["make", target], cwd=REPO_ROOT, capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0
    assert f"not in CodeBuild, {message}" in result.stdout


def test_the_build_fetches_baselines_before_synth_reads_them() -> None:
    commands = [c for _, c in commands_by_phase(load_buildspec(BUILDSPEC))]
    assert commands.index("make baseline-fetch") < commands.index("make synth")
    assert 'export IMPACT_SUMMARY="$(cat cdk.out/compliance/impact.txt)"' in commands


def test_a_report_without_a_report_group_is_an_error() -> None:
    with pytest.raises(BuildSpecError, match=r"reports \['compliance', 'tests'\] have no report group"):
        synth_build_spec({})


def test_a_file_without_phases_is_not_a_buildspec(tmp_path: Path) -> None:
    (tmp_path / "buildspec.yml").write_text("version: 0.2\n")
    with pytest.raises(BuildSpecError, match="no phases"):
        load_buildspec(tmp_path / "buildspec.yml")


def test_local_replay_runs_phases_in_order_with_buildspec_env_and_stops_at_a_failure(tmp_path: Path) -> None:
    log = tmp_path / "log"
    (tmp_path / "buildspec.yml").write_text(
        "version: 0.2\n"
        "env:\n  variables:\n    GREETING: hello\n"
        "phases:\n"
        f"  build:\n    commands:\n      - echo build-$GREETING >> {log}\n      - exit 3\n      - echo never >> {log}\n"
        f"  install:\n    commands:\n      - echo install >> {log}\n"
    )
    assert main(["run_buildspec", str(tmp_path / "buildspec.yml")]) == 3
    assert log.read_text().split() == ["install", "build-hello"]


def test_synth_build_spec_is_a_codebuild_buildspec() -> None:
    class FakeGroup:
        report_group_arn = "arn:aws:codebuild:eu-west-1:111111111111:report-group/tests"

    spec = synth_build_spec({"tests": FakeGroup(), "compliance": FakeGroup()})  # type: ignore[dict-item]
    assert isinstance(spec, codebuild.BuildSpec)


def test_the_build_runs_the_python_the_functions_run() -> None:
    spec = load_buildspec(BUILDSPEC)
    assert f"python{spec['phases']['install']['runtime-versions']['python']}" == LAMBDA_RUNTIME.name

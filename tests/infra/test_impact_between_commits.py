"""`make impact BASE=<ref>` end to end, between two real commits of this repository: the commit before the
stage gates came in (synthesized in a temporary git worktree beside the session's synth) and the working
tree (the session's synth), through the same functions `python -m tools.impact` runs."""

import json
from typing import Any

import pytest

from compliance.impact.model import Impact
from tests.synth_fixtures import IMPACT_BASE, BackgroundSynth, Synthesized
from tools.impact import impact_between, write_report

APPLICATION_ENVIRONMENTS = ("dev", "staging", "prod")


@pytest.fixture(scope="module")
def base(background_synths: dict[str, BackgroundSynth]) -> BackgroundSynth:
    synth = background_synths.get(IMPACT_BASE)
    if synth is None:
        pytest.skip("this checkout has no history to take a base commit from (a shallow clone or source archive)")
    returncode, output = synth.wait()
    assert returncode == 0, f"the base commit failed to synthesize:\n{output[-3000:]}"
    return synth


@pytest.fixture(scope="module")
def impact(base: BackgroundSynth, synthesized: Synthesized) -> Impact:
    return impact_between(base.commit, synthesized.outdir, base.outdir)


@pytest.fixture(scope="module")
def report(impact: Impact, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    out = tmp_path_factory.mktemp("impact")
    write_report(impact, out)
    return json.loads((out / "change-impact.json").read_text()), (out / "change-impact.md").read_text()


def test_every_stage_is_compared_with_the_base_commit(impact: Impact, base: BackgroundSynth) -> None:
    stages = [stage for env in impact.environments for stage in env.stages]
    assert {s.stage for s in stages} >= {"pipeline", "dev", "staging", "prod-eu-west-1", "prod-eu-central-1"}
    assert {s.baseline.commit for s in stages if s.baseline} == {base.commit}
    assert all(s.baseline is not None for s in stages)


def test_the_release_health_alarm_is_new_in_every_application_stage(impact: Impact) -> None:
    for name in APPLICATION_ENVIRONMENTS:
        env = impact.environment(name)
        assert env is not None
        for stage in env.stages:
            # the working tree keeps growing after the base commit, so other additions may sit beside it
            added = [c for _, c in stage.changes() if c.change == "added"]
            health = [c for c in added if c.resource_type == "AWS::CloudWatch::CompositeAlarm"]
            assert len(health) == 1, stage.stage
            assert health[0].deployment_settings == ("(added)",)


def test_the_pipelines_new_stage_conditions_are_deployment_settings(impact: Impact) -> None:
    pipeline = impact.environment("pipeline")
    assert pipeline is not None
    settings = {
        s
        for _, c in pipeline.stages[0].changes()
        if c.resource_type == "AWS::CodePipeline::Pipeline"
        for s in c.deployment_settings
    }
    assert {
        "ExecutionMode",
        "Stages[staging].OnSuccess",
        "Stages[prod].BeforeEntry",
        "Stages[dev].OnFailure",
    } <= settings


def test_the_pipeline_role_reading_stagings_alarms_is_reported_as_broadened(impact: Impact) -> None:
    pipeline = impact.environment("pipeline")
    assert pipeline is not None
    broadened = [p.detail for _, c in pipeline.stages[0].changes() for p in c.permissions]
    assert any("sts:AssumeRole on arn:aws:iam::222222222222:role/cdk-hnb659fds-lookup-role-" in d for d in broadened)


def test_every_stateful_replacement_or_removal_since_the_base_is_acknowledged_so_the_gate_passes(
    impact: Impact,
) -> None:
    assert impact.passed


def test_the_written_report_names_both_commits(report: tuple[dict[str, Any], str], base: BackgroundSynth) -> None:
    document, markdown = report
    assert document["passed"] is True
    assert f"baseline: commit {base.commit}" in markdown
    assert [env["name"] for env in document["environments"]] == ["pipeline", *APPLICATION_ENVIRONMENTS]

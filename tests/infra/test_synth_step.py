"""The Build step's action carries CDK Pipelines' _PROJECT_CONFIG_HASH next to our own variables, so a
change to buildspec.yml changes the pipeline's structure and CodePipeline restarts the run on the new
build after self-mutation."""

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_s3 as s3
from aws_cdk import pipelines

from pipeline.buildspec import BUILDSPEC_PATH
from pipeline.evidence import EvidenceStore
from pipeline.source import connection_source
from pipeline.synth_step import synth_step
from tests.synth_fixtures import only_resource

CONNECTION = "arn:aws:codeconnections:eu-west-1:111111111111:connection/00000000-0000-0000-0000-000000000000"


def _synth_action_variables(buildspec: Path) -> dict[str, str]:
    """A pipeline of just the Build step and self-mutation, built from the given buildspec."""
    app = cdk.App()
    stack = cdk.Stack(app, "Pipeline", env=cdk.Environment(account="111111111111", region="eu-west-1"))
    groups = {name: codebuild.ReportGroup(stack, name) for name in ("tests", "compliance")}
    evidence = EvidenceStore(stack, "Evidence", retention_days=1, access_logs=s3.Bucket(stack, "Logs"))
    source = connection_source("owner/name", "main", CONNECTION)
    step = synth_step(source, report_groups=groups, evidence=evidence, buildspec_path=buildspec)
    pipelines.CodePipeline(stack, "Delivery", synth=step).build_pipeline()
    template: dict[str, Any] = app.synth().get_stack_by_name("Pipeline").template
    _, pipeline = only_resource(template, "AWS::CodePipeline::Pipeline")
    (build,) = [s for s in pipeline["Properties"]["Stages"] if s["Name"] == "Build"]
    (action,) = build["Actions"]
    return {v["name"]: v["value"] for v in json.loads(action["Configuration"]["EnvironmentVariables"])}


def test_a_buildspec_change_changes_the_config_hash_on_the_synth_action(tmp_path: Path) -> None:
    changed = tmp_path / "buildspec.yml"
    changed.write_text(
        BUILDSPEC_PATH.read_text().replace("      - make lint\n", "      - make lint\n      - make bench\n")
    )
    assert changed.read_text() != BUILDSPEC_PATH.read_text()
    before, after = _synth_action_variables(BUILDSPEC_PATH), _synth_action_variables(changed)
    assert before["_PROJECT_CONFIG_HASH"] != after["_PROJECT_CONFIG_HASH"]
    assert before["PIPELINE_EXECUTION_ID"] == after["PIPELINE_EXECUTION_ID"] == "#{codepipeline.PipelineExecutionId}"

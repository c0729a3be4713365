"""The pipeline's Build step: CodeBuild runs buildspec.yml (lint, test, baselines, synth, audit with change
impact, evidence) and publishes its JUnit reports to the pipeline's report groups."""

from collections.abc import Mapping
from pathlib import Path

from aws_cdk import Duration, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam

from pipeline.buildspec import BUILDSPEC_PATH, synth_build_spec
from pipeline.evidence import EvidenceStore

BUILD_IMAGE = codebuild.LinuxBuildImage.STANDARD_8_0
STEP_ID = "Synth"


def report_statement(report_group: codebuild.IReportGroup) -> iam.PolicyStatement:
    """What a CodeBuild project needs to publish test results into one report group."""
    return iam.PolicyStatement(
        actions=[
            "codebuild:CreateReport",
            "codebuild:UpdateReport",
            "codebuild:BatchPutTestCases",
            "codebuild:BatchPutCodeCoverages",
        ],
        resources=[report_group.report_group_arn],
    )


def synth_step(
    source: pipelines.IFileSetProducer,
    *,
    report_groups: Mapping[str, codebuild.IReportGroup],
    evidence: EvidenceStore,
    buildspec_path: Path = BUILDSPEC_PATH,
) -> pipelines.CodeBuildStep:
    return pipelines.CodeBuildStep(
        STEP_ID,
        input=source,
        commands=[],
        primary_output_directory="cdk.out",
        partial_build_spec=synth_build_spec(report_groups, buildspec_path),
        env={
            "EVIDENCE_BUCKET": evidence.bucket.bucket_name,
            # Where `make baseline-fetch` finds the templates last deployed to each stage (change impact).
            "BASELINE_BUCKET": evidence.bucket.bucket_name,
            # A value holding a pipeline variable goes on the action, where CodePipeline fills it in, beside
            # CDK Pipelines' _PROJECT_CONFIG_HASH (which restarts the run when this build changes).
            "PIPELINE_EXECUTION_ID": "#{codepipeline.PipelineExecutionId}",
        },
        build_environment=codebuild.BuildEnvironment(
            build_image=BUILD_IMAGE, compute_type=codebuild.ComputeType.MEDIUM
        ),
        # The pip and npm caches of buildspec.yml's `cache.paths`, kept on the build host between runs.
        cache=codebuild.Cache.local(codebuild.LocalCacheMode.CUSTOM),
        timeout=Duration.minutes(30),
        role_policy_statements=[
            *(report_statement(group) for group in report_groups.values()),
            *evidence.writer_statements(),
            *evidence.baseline_reader_statements(),
        ],
    )

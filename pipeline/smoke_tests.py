"""The post-deploy tests of one stage: a CodeBuild step in the pipeline's account that runs tests/e2e
against the API the stage just deployed, found through the stage's stack outputs, as the identity the
stage created for it (a secret in the stage's account, named by another output). Once they pass, it keeps
the stage's templates (from the Build step's cloud assembly) as the baseline the next release's change
impact compares with; a rollback reruns it with the old artifacts, which records the old templates again.

Its role may read that one secret and decrypt it through Secrets Manager, and nothing else of the
stage. The role has a fixed name (config/schema.py), because the stage's secret and key name it in their
policies; CDK Pipelines generates the role, so the name is set on it once the pipeline is built."""

from aws_cdk import Duration, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam

from pipeline.synth_step import report_statement
from stages.application_stage import ApplicationStage


def smoke_test_step(
    step_id: str,
    stage: ApplicationStage,
    *,
    source: pipelines.IFileSetProducer,
    cloud_assembly: pipelines.IFileSetProducer,
    report_group: codebuild.IReportGroup,
    baseline_bucket_name: str,
    recorded_baselines: list[str],
) -> pipelines.CodeBuildStep:
    return pipelines.CodeBuildStep(
        step_id,
        input=source,
        additional_inputs={"cdk.out": cloud_assembly},
        env_from_cfn_outputs={
            "API_URL": stage.api_url_output,
            "IDENTITY_SECRET_ARN": stage.smoke_test_identity_output,
        },
        env={
            "DEPLOY_ENVIRONMENT": stage.environment_name,
            "BASELINE_BUCKET": baseline_bucket_name,
            "BASELINE_STAGES": " ".join(recorded_baselines),
            "PIPELINE_EXECUTION_ID": "#{codepipeline.PipelineExecutionId}",
        },
        install_commands=["make install-e2e"],
        commands=["make e2e", "make baseline-record"],
        partial_build_spec=codebuild.BuildSpec.from_object(
            {
                "reports": {
                    report_group.report_group_arn: {
                        "base-directory": "reports",
                        "files": ["e2e.xml"],
                        "file-format": "JUNITXML",
                    }
                }
            }
        ),
        role_policy_statements=[report_statement(report_group), *stage.smoke_test_reader_statements],
        timeout=Duration.minutes(15),
    )


def name_the_role(step: pipelines.CodeBuildStep, role_name: str) -> iam.CfnRole:
    """Give the role CDK Pipelines generated for the step (after build_pipeline()) its fixed name."""
    role = step.project.role
    assert role is not None, f"{step.id} has no role"
    cfn_role = role.node.default_child
    assert isinstance(cfn_role, iam.CfnRole)
    cfn_role.role_name = role_name
    return cfn_role


def role_policy_path(step: pipelines.CodeBuildStep) -> str:
    """The construct path of the step's role policy, as the acknowledgment registry names resources."""
    role = step.project.role
    assert role is not None
    return f"{role.node.path}/DefaultPolicy/Resource"

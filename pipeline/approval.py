"""The manual approval before prod, and the managed policy that lets approvers press its button only."""

from aws_cdk import Stack, pipelines
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from config.schema import PipelineConfig

APPROVAL_STEP_ID = "PromoteToProd"
# The approval is a pipeline stage of its own, before prod.
APPROVAL_STAGE_NAME = "prod-approval"


def approval_step(
    *,
    config: PipelineConfig,
    commit_id: str,
    staging_api_url: str,
    compliance_summary: str,
    impact_summary: str,
    topic: sns.ITopic,
) -> pipelines.ManualApprovalStep:
    """Tells the approver what ships: the commit (with a link to it), the compliance result, what the
    release changes in prod (change impact) and where staging runs it."""
    return pipelines.ManualApprovalStep(
        APPROVAL_STEP_ID,
        comment=(
            f"Promote commit {commit_id} of {config.repository} ({config.branch}) to prod. "
            f"Compliance: {compliance_summary}. Impact: {impact_summary}. "
            f"Staging passed its smoke tests at {staging_api_url}. Approve to deploy, reject to stop this run."
        ),
        review_url=config.commit_url_template.format(repository=config.repository, commit=commit_id),
        notification_topic=topic,
    )


class ApproversPolicy(Construct):
    """A group whose members may approve or reject the prod promotion of this pipeline and nothing else."""

    def __init__(self, scope: Construct, construct_id: str, *, config: PipelineConfig, pipeline_name: str) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        pipeline_arn = stack.format_arn(service="codepipeline", resource=pipeline_name)
        self.approval_action_arn = f"{pipeline_arn}/{APPROVAL_STAGE_NAME}/{APPROVAL_STEP_ID}"
        self.group = iam.Group(self, "Group", group_name=config.approvers_group_name)
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description=f"Approve or reject the prod promotion of the {pipeline_name} pipeline, nothing else",
            groups=[self.group],
            statements=[
                iam.PolicyStatement(
                    sid="ApproveProdPromotion",
                    actions=["codepipeline:PutApprovalResult"],
                    resources=[self.approval_action_arn],
                ),
                # ListPipelines supports no resource-level permission; it lets the console list the pipeline.
                iam.PolicyStatement(
                    sid="FindThePipelineInTheConsole", actions=["codepipeline:ListPipelines"], resources=["*"]
                ),
                iam.PolicyStatement(
                    sid="ReadThisPipelineInTheConsole",
                    actions=[
                        "codepipeline:GetPipeline",
                        "codepipeline:GetPipelineState",
                        "codepipeline:GetPipelineExecution",
                        "codepipeline:ListPipelineExecutions",
                        "codepipeline:ListActionExecutions",
                    ],
                    resources=[pipeline_arn],
                ),
            ],
        )

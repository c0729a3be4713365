"""KMS-encrypted SNS topics for pipeline events and prod approval requests."""

from aws_cdk import RemovalPolicy
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from config.schema import PipelineConfig


class PipelineTopics(Construct):
    """``events``: run failed / succeeded / approval needed; ``approvals``: what approvers subscribe to."""

    def __init__(self, scope: Construct, construct_id: str, *, config: PipelineConfig) -> None:
        super().__init__(scope, construct_id)
        self._name = config.name
        self.key = kms.Key(
            self,
            "Key",
            description="Encrypts the delivery pipeline's notification topics",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        )
        # CodeStar Notifications publishes to the encrypted topic, so it must be able to use the key.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCodeStarNotifications",
                principals=[iam.ServicePrincipal("codestar-notifications.amazonaws.com")],
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                resources=["*"],
                conditions={"StringEquals": {"kms:ViaService": f"sns.{config.region}.amazonaws.com"}},
            )
        )
        self.events = sns.Topic(
            self, "Events", display_name=f"{config.name} pipeline events", master_key=self.key, enforce_ssl=True
        )
        self.approvals = sns.Topic(
            self, "Approvals", display_name=f"{config.name} prod approvals", master_key=self.key, enforce_ssl=True
        )
        for email in config.notification_emails:
            self.events.add_subscription(subscriptions.EmailSubscription(email))
        for email in config.approval_emails:
            self.approvals.add_subscription(subscriptions.EmailSubscription(email))

    def watch(self, pipeline: codepipeline.Pipeline) -> None:
        rule = pipeline.notify_on(
            "PipelineEvents",
            self.events,
            events=[
                codepipeline.PipelineNotificationEvents.PIPELINE_EXECUTION_FAILED,
                codepipeline.PipelineNotificationEvents.PIPELINE_EXECUTION_SUCCEEDED,
                codepipeline.PipelineNotificationEvents.MANUAL_APPROVAL_NEEDED,
            ],
            notification_rule_name=f"{self._name}-events",
        )
        # CodeStar Notifications checks, when the rule is created, that it may publish to its target: the
        # topic's policy must exist by then (CloudFormation would otherwise create both at once).
        rule.node.add_dependency(self.events.node.find_child("Policy"))

"""Progressive delivery of a ServiceFunction: CodeDeploy shifts its `live` alias to each new version
(all at once, canary or linear, per environment), behind a pre-traffic hook that invokes the new
version, alarms scoped to that version, a post-traffic hook that checks the alarms, automatic rollback
on failure, stop or alarm, and notifications to the operations topic."""

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from services.platform.function import ALIAS_NAME, ServiceFunction
from stages.config import EnvironmentConfig, TrafficShift

HOOKS_DIR = Path(__file__).parent / "runtime"
ALARM_PERIOD = Duration.minutes(1)
DEPLOYMENT_EVENTS = [
    "DeploymentStart",
    "DeploymentSuccess",
    "DeploymentFailure",
    "DeploymentStop",
    "DeploymentRollback",
]


def deployment_config(scope: Construct, name: str, shift: TrafficShift) -> codedeploy.ILambdaDeploymentConfig:
    """CodeDeploy's predefined config of that name (CDK spells them as the config does), or a custom one."""
    if name.isupper() and name != "PROPERTY_INJECTION_ID" and hasattr(codedeploy.LambdaDeploymentConfig, name):
        predefined: codedeploy.ILambdaDeploymentConfig = getattr(codedeploy.LambdaDeploymentConfig, name)
        return predefined
    routing: codedeploy.TrafficRouting = (
        codedeploy.TimeBasedCanaryTrafficRouting(interval=Duration.minutes(shift.minutes), percentage=shift.percentage)
        if shift.kind == "canary"
        else codedeploy.TimeBasedLinearTrafficRouting(
            interval=Duration.minutes(shift.minutes), percentage=shift.percentage
        )
    )
    return codedeploy.LambdaDeploymentConfig(scope, "DeploymentConfig", traffic_routing=routing)


def _compact_json(value: Mapping[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def version_metric(function: ServiceFunction, metric_name: str, statistic: str) -> cloudwatch.Metric:
    """A metric of the alias's invocations served by the version being deployed only, so an alarm about
    the old version can never block (or roll back) the deployment of a fix."""
    name = function.function.function_name
    return cloudwatch.Metric(
        namespace="AWS/Lambda",
        metric_name=metric_name,
        dimensions_map={
            "FunctionName": name,
            "Resource": f"{name}:{ALIAS_NAME}",
            "ExecutedVersion": function.version.version,
        },
        period=ALARM_PERIOD,
        statistic=statistic,
    )


class ProgressiveDelivery(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        target: ServiceFunction,
        env_config: EnvironmentConfig,
        key: kms.IKey,
        topic: sns.ITopic,
        probe_event: Mapping[str, Any],
        expected_response: Mapping[str, Any],
        duration_threshold_ms: int | None = None,
        extra_alarms: Sequence[cloudwatch.IAlarm] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        removal = RemovalPolicy.RETAIN if env_config.is_production else RemovalPolicy.DESTROY
        thresholds = env_config.alarms
        self.alarms: list[cloudwatch.IAlarm] = [
            self._alarm("NewVersionErrors", version_metric(target, "Errors", "Sum"), thresholds.lambda_errors),
            self._alarm("NewVersionThrottles", version_metric(target, "Throttles", "Sum"), thresholds.lambda_throttles),
            self._alarm(
                "NewVersionDurationP99",
                version_metric(target, "Duration", "p99"),
                duration_threshold_ms or thresholds.lambda_duration_p99_ms,
                periods=2,
            ),
            *extra_alarms,
        ]

        hook_settings: dict[str, Any] = {
            "key": key,
            "code_dir": HOOKS_DIR,
            "log_retention_days": env_config.log_retention_days,
            "removal_policy": removal,
            "timeout": Duration.minutes(2),
        }
        self.pre_traffic = ServiceFunction(
            self,
            "PreTrafficHook",
            description=f"Pre-traffic hook: probes each new version of {target.function.node.path} ({env_config.name})",
            handler="deploy_hooks.pre_traffic.lambda_handler",
            environment={
                "TARGET_VERSION_ARN": target.version.function_arn,
                "PROBE_EVENT": _compact_json(probe_event),
                "EXPECTED_RESPONSE": _compact_json(expected_response),
                "POWERTOOLS_SERVICE_NAME": "deploy-hooks",
            },
            **hook_settings,
        )
        self.pre_traffic.function.add_to_role_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[target.version.function_arn])
        )
        self.post_traffic = ServiceFunction(
            self,
            "PostTrafficHook",
            description=(
                f"Post-traffic hook: checks the deployment alarms of {target.function.node.path} ({env_config.name})"
            ),
            handler="deploy_hooks.post_traffic.lambda_handler",
            environment={
                "ALARM_NAMES": ",".join(alarm.alarm_name for alarm in self.alarms),
                "POWERTOOLS_SERVICE_NAME": "deploy-hooks",
            },
            **hook_settings,
        )
        # DescribeAlarms supports no resource-level permission (acknowledged in compliance/acknowledgments.py).
        self.post_traffic.function.add_to_role_policy(
            iam.PolicyStatement(actions=["cloudwatch:DescribeAlarms"], resources=["*"])
        )

        self.deployment_group = codedeploy.LambdaDeploymentGroup(
            self,
            "DeploymentGroup",
            alias=target.alias,
            deployment_config=deployment_config(
                self, env_config.deployment.strategy, env_config.deployment.traffic_shift
            ),
            alarms=self.alarms,
            pre_hook=self.pre_traffic.alias,
            post_hook=self.post_traffic.alias,
            auto_rollback=codedeploy.AutoRollbackConfig(
                failed_deployment=True, stopped_deployment=True, deployment_in_alarm=True
            ),
        )
        self._notify(self.deployment_group, topic, key)
        # The hooks are functions too: each is released behind its own alias, all at once.
        for hook in (self.pre_traffic, self.post_traffic):
            group = codedeploy.LambdaDeploymentGroup(
                hook,
                "DeploymentGroup",
                alias=hook.alias,
                deployment_config=codedeploy.LambdaDeploymentConfig.ALL_AT_ONCE,
                auto_rollback=codedeploy.AutoRollbackConfig(failed_deployment=True, stopped_deployment=True),
            )
            self._notify(group, topic, key)
        # The hooks' new configuration (the version to probe, the alarms to check) must be live before
        # CodeDeploy starts shifting the target's alias.
        target.alias.node.add_dependency(self.pre_traffic.alias, self.post_traffic.alias)

    def _alarm(self, name: str, metric: cloudwatch.IMetric, threshold: float, periods: int = 1) -> cloudwatch.Alarm:
        return cloudwatch.Alarm(
            self,
            name,
            metric=metric,
            threshold=threshold,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=f"{name} of the version being deployed (rolls the deployment back)",
        )

    @staticmethod
    def _notify(group: codedeploy.LambdaDeploymentGroup, topic: sns.ITopic, key: kms.IKey) -> None:
        cfn_group = group.node.default_child
        cfn_group.trigger_configurations = [
            codedeploy.CfnDeploymentGroup.TriggerConfigProperty(
                trigger_name=f"{Stack.of(group).stack_name}-{group.node.path.replace('/', '-')}"[:100],
                trigger_target_arn=topic.topic_arn,
                trigger_events=DEPLOYMENT_EVENTS,
            )
        ]
        group.role.add_to_principal_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=[topic.topic_arn]))
        group.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[key.key_arn])
        )

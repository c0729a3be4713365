"""Progressive delivery of released functions: CodeDeploy shifts each function's `live` alias to its
new version (all at once, canary or linear, per environment), behind a pre-traffic hook that invokes
the new version, synthetic traffic through the alias during the shift, alarms scoped to the new
version, a post-traffic hook that waits one alarm window and checks them, automatic rollback on
failure, stop or alarm, and notifications to the operations topic.

The hooks and the traffic function are shared by every deployment group of a stack (one
``DeploymentHooks`` per stack) and are not released themselves: CodeDeploy calls them unqualified."""

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from services.platform.alarms import threshold_alarm
from services.platform.function import ALIAS_NAME, ServiceFunction

HOOKS_DIR = Path(__file__).parent / "runtime"
# Every deployment alarm looks at one 1-minute period: the shortest shift interval CodeDeploy offers,
# so each alarm can reach ALARM inside every interval of every strategy.
ALARM_PERIOD = Duration.minutes(1)
ALARM_EVALUATION_PERIODS = 1
# CloudWatch publishes a minute's Lambda metrics about a minute later; the post-traffic hook waits
# one alarm window plus that delay before it reads the alarms.
METRIC_DELAY_SECONDS = 60
BAKE_SECONDS = int(ALARM_PERIOD.to_seconds()) * ALARM_EVALUATION_PERIODS + METRIC_DELAY_SECONDS
# The new version should see this many synthetic requests per alarm period, whatever its share.
NEW_VERSION_REQUESTS_PER_PERIOD = 6
MIN_REQUESTS_PER_MINUTE = 60
DEPLOYMENT_EVENTS = [
    "DeploymentStart",
    "DeploymentSuccess",
    "DeploymentFailure",
    "DeploymentStop",
    "DeploymentRollback",
]
HOOK_TIMEOUT = Duration.seconds(BAKE_SECONDS + 120)


class TrafficShift(Protocol):
    """How CodeDeploy moves traffic to a new version (the configuration parses its strategy name into one)."""

    @property
    def kind(self) -> Literal["all_at_once", "canary", "linear"]: ...

    @property
    def percentage(self) -> int: ...

    @property
    def minutes(self) -> int: ...


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


def shift_seconds(shift: TrafficShift) -> int:
    """How long CodeDeploy takes to move all traffic: a canary waits one interval, a linear shift one
    interval per step."""
    if shift.kind == "all_at_once":
        return 0
    steps = 1 if shift.kind == "canary" else math.ceil(100 / shift.percentage)
    return steps * shift.minutes * 60


def synthetic_requests_per_minute(shift: TrafficShift) -> int:
    """Enough requests that the new version's first share (e.g. 10 %) gets several per alarm period."""
    share = shift.percentage if shift.kind != "all_at_once" else 100
    return max(MIN_REQUESTS_PER_MINUTE, math.ceil(NEW_VERSION_REQUESTS_PER_PERIOD * 100 / share))


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


class DeploymentHooks(Construct):
    """The stack's CodeDeploy application, its pre- and post-traffic hooks and the synthetic-traffic
    function, shared by all its deployment groups."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        log_retention_days: int,
        removal_policy: RemovalPolicy,
        description_suffix: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.application = codedeploy.LambdaApplication(self, "Application")
        settings: dict[str, Any] = {
            "key": key,
            "code_dir": HOOKS_DIR,
            "log_retention_days": log_retention_days,
            "removal_policy": removal_policy,
            "released": False,
        }
        self.traffic = ServiceFunction(
            self,
            "SyntheticTraffic",
            description=f"Synthetic traffic through the live alias during traffic shifts ({description_suffix})",
            handler="deploy_hooks.traffic.lambda_handler",
            environment={"POWERTOOLS_SERVICE_NAME": "deploy-hooks"},
            timeout=Duration.minutes(15),
            **settings,
        )
        # What the traffic function invokes (itself, to hand over, and the targets' aliases) is granted by
        # a policy of its own: the function depends on its role's default policy, and the aliases depend
        # on the hooks, so naming them there would close a dependency cycle.
        self._traffic_invokes = iam.Policy(
            self,
            "SyntheticTrafficInvokes",
            roles=[self.traffic.role],
            statements=[
                iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[self.traffic.function.function_arn])
            ],
        )
        self.pre_traffic = ServiceFunction(
            self,
            "PreTrafficHook",
            description=f"Pre-traffic hook: probes each new version, starts synthetic traffic ({description_suffix})",
            handler="deploy_hooks.pre_traffic.lambda_handler",
            environment={
                "TRAFFIC_FUNCTION_NAME": self.traffic.function.function_name,
                "POWERTOOLS_SERVICE_NAME": "deploy-hooks",
            },
            timeout=Duration.minutes(2),
            **settings,
        )
        self.pre_traffic.function.add_to_role_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[self.traffic.function.function_arn])
        )
        self.post_traffic = ServiceFunction(
            self,
            "PostTrafficHook",
            description=f"Post-traffic hook: checks the deployment alarms after one window ({description_suffix})",
            handler="deploy_hooks.post_traffic.lambda_handler",
            environment={"BAKE_SECONDS": str(BAKE_SECONDS), "POWERTOOLS_SERVICE_NAME": "deploy-hooks"},
            timeout=HOOK_TIMEOUT,
            **settings,
        )
        # DescribeAlarms supports no resource-level permission (acknowledged in compliance/acknowledgments.py).
        self.post_traffic.function.add_to_role_policy(
            iam.PolicyStatement(actions=["cloudwatch:DescribeAlarms"], resources=["*"])
        )
        self._targets = 0

    def register(
        self,
        group: codedeploy.LambdaDeploymentGroup,
        target: ServiceFunction,
        *,
        shift: TrafficShift,
        probe_event: Mapping[str, Any],
        expected_response: Mapping[str, Any],
        alarms: Sequence[cloudwatch.IAlarm],
    ) -> None:
        """Tell the hooks what a deployment of ``group`` releases, and let them and the traffic reach it."""
        stack = Stack.of(self)
        # Built from the function, not the alias: the alias depends on the hooks (it is shifted only once
        # their new configuration is live), so the hooks may not depend on it.
        alias_arn = f"{target.function.function_arn}:{ALIAS_NAME}"
        self._targets += 1
        variable = f"DEPLOYMENT_TARGET_{self._targets}"
        traffic_seconds = shift_seconds(shift) + BAKE_SECONDS + int(HOOK_TIMEOUT.to_seconds())
        self.pre_traffic.function.add_environment(
            variable,
            stack.to_json_string(
                {
                    "group": group.deployment_group_name,
                    "version_arn": target.version.function_arn,
                    "alias_arn": alias_arn,
                    "probe_event": dict(probe_event),
                    "expected_response": dict(expected_response),
                    "traffic": {"per_minute": synthetic_requests_per_minute(shift), "seconds": traffic_seconds},
                }
            ),
        )
        self.post_traffic.function.add_environment(
            variable,
            stack.to_json_string({"group": group.deployment_group_name, "alarm_names": [a.alarm_name for a in alarms]}),
        )
        read_deployment = iam.PolicyStatement(
            actions=["codedeploy:GetDeployment"], resources=[group.deployment_group_arn]
        )
        for hook in (self.pre_traffic, self.post_traffic, self.traffic):
            hook.function.add_to_role_policy(read_deployment)
        self.pre_traffic.function.add_to_role_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[target.version.function_arn])
        )
        self._traffic_invokes.add_statements(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[alias_arn])
        )
        # The hooks' new configuration (the version to probe, the alarms to check) must be live before
        # CodeDeploy starts shifting the target's alias.
        target.alias.node.add_dependency(self.pre_traffic.function, self.post_traffic.function)


class ProgressiveDelivery(Construct):
    """One released function's deployment group: strategy, version-scoped alarms, hooks, rollback."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        target: ServiceFunction,
        hooks: DeploymentHooks,
        strategy: str,
        shift: TrafficShift,
        errors_threshold: int,
        throttles_threshold: int,
        duration_threshold_ms: int,
        topic: sns.ITopic,
        key: kms.IKey,
        probe_event: Mapping[str, Any],
        expected_response: Mapping[str, Any],
        extra_metrics: Mapping[str, tuple[cloudwatch.IMetric, float]] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.alarms: list[cloudwatch.IAlarm] = [
            self._alarm("NewVersionErrors", version_metric(target, "Errors", "Sum"), errors_threshold),
            self._alarm("NewVersionThrottles", version_metric(target, "Throttles", "Sum"), throttles_threshold),
            self._alarm("NewVersionDurationP99", version_metric(target, "Duration", "p99"), duration_threshold_ms),
            *(self._alarm(name, metric, threshold) for name, (metric, threshold) in (extra_metrics or {}).items()),
        ]
        self.deployment_group = codedeploy.LambdaDeploymentGroup(
            self,
            "DeploymentGroup",
            application=hooks.application,
            alias=target.alias,
            deployment_config=deployment_config(self, strategy, shift),
            alarms=self.alarms,
            pre_hook=hooks.pre_traffic.function,
            post_hook=hooks.post_traffic.function,
            auto_rollback=codedeploy.AutoRollbackConfig(
                failed_deployment=True, stopped_deployment=True, deployment_in_alarm=True
            ),
        )
        self._notify(self.deployment_group, topic, key)
        hooks.register(
            self.deployment_group,
            target,
            shift=shift,
            probe_event=probe_event,
            expected_response=expected_response,
            alarms=self.alarms,
        )

    def _alarm(self, name: str, metric: cloudwatch.IMetric, threshold: float) -> cloudwatch.Alarm:
        return threshold_alarm(
            self,
            name,
            metric=metric,
            threshold=threshold,
            description=f"{name} of the version being deployed (rolls the deployment back)",
            evaluation_periods=ALARM_EVALUATION_PERIODS,
            datapoints_to_alarm=ALARM_EVALUATION_PERIODS,
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

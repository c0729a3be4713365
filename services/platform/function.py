"""A Python Lambda function the way every function here is built: newest runtime on arm64, the pinned
Powertools layer, X-Ray, its own least-privilege role, a KMS-encrypted log group, encrypted environment,
and asynchronous failures kept in an encrypted queue.

An application function is *released*: a published version behind the `live` alias, which callers use
and CodeDeploy shifts, with its asynchronous-invocation settings on that alias (they apply per
qualifier). The deployment machinery (hooks, synthetic traffic) is not released: its functions are
called unqualified, so their settings sit on `$LATEST`."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from services.platform.lambda_runtime import LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME, powertools_layer
from services.platform.logs import encrypted_log_group
from services.platform.queues import dead_letter_queue

ASSET_EXCLUDES = ["**/__pycache__", "**/*.pyc", ".pytest_cache"]
ALIAS_NAME = "live"
DEFAULT_TIMEOUT = Duration.seconds(10)


@jsii.implements(lambda_.IDestination)
class _QueueDestination:
    """An SQS failure destination granting sqs:SendMessage only (SqsDestination also grants the queue
    key's ReEncrypt*/GenerateDataKey*; the function's exact KMS statement already covers the key)."""

    def __init__(self, queue: sqs.IQueue) -> None:
        self._queue = queue

    def bind(self, scope: Construct, fn: lambda_.IFunction, options: Any = None) -> lambda_.DestinationConfig:
        fn.add_to_role_policy(iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[self._queue.queue_arn]))
        return lambda_.DestinationConfig(destination=self._queue.queue_arn)


class ServiceFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        description: str,
        code_dir: Path,
        handler: str,
        key: kms.IKey,
        log_retention_days: int,
        removal_policy: RemovalPolicy,
        environment: Mapping[str, str],
        memory_mb: int = 256,
        timeout: Duration | None = None,
        reserved_concurrency: int | None = None,
        provisioned_concurrency: int | None = None,
        released: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = encrypted_log_group(
            self, "Logs", key=key, retention_days=log_retention_days, removal_policy=removal_policy
        )
        # Receives events of asynchronous invocations that failed every retry.
        self.dead_letter_queue = dead_letter_queue(self, "DeadLetterQueue", key=key)
        # Its own role, without AWSLambdaBasicExecutionRole: it may write to its own log group only.
        self.role = iam.Role(
            self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"), description=description
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[self.log_group.log_group_arn]
            )
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            role=self.role,
            runtime=LAMBDA_RUNTIME,
            architecture=LAMBDA_ARCHITECTURE,
            handler=handler,
            code=lambda_.Code.from_asset(str(code_dir), exclude=ASSET_EXCLUDES),
            layers=[powertools_layer(self, "Powertools")],
            memory_size=memory_mb,
            timeout=timeout or DEFAULT_TIMEOUT,
            reserved_concurrent_executions=reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            dead_letter_queue=self.dead_letter_queue,
            environment_encryption=key,
            environment=dict(environment),
        )
        # Exactly what SQS, DynamoDB and Secrets Manager ask of the caller's key (no ReEncrypt*, no wildcards).
        self.function.add_to_role_policy(
            iam.PolicyStatement(actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], resources=[key.key_arn])
        )
        self.released = released
        if not released:
            self._retry_asynchronous_invocations(self.function)
            return
        self.version = self.function.current_version
        self.alias = lambda_.Alias(
            self,
            "Live",
            alias_name=ALIAS_NAME,
            version=self.version,
            provisioned_concurrent_executions=provisioned_concurrency,
        )
        self._retry_asynchronous_invocations(self.alias)

    def _retry_asynchronous_invocations(self, qualifier: lambda_.IFunction) -> None:
        """Asynchronous invocations of the qualifier callers use are retried twice within an hour, then
        land in the dead-letter queue."""
        qualifier.configure_async_invoke(
            retry_attempts=2, max_event_age=Duration.hours(1), on_failure=_QueueDestination(self.dead_letter_queue)
        )

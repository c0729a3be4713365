"""The items API function: Powertools on the newest Python, published behind the `live` alias."""

from pathlib import Path
from typing import Any

import jsii
from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from services.items.data import LIST_INDEX_NAME, ItemsTables
from services.items.powertools import LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME, powertools_layer
from services.items.secrets import ItemsSecrets
from services.platform.logs import encrypted_log_group
from stages.config import EnvironmentConfig

RUNTIME_DIR = Path(__file__).parent / "runtime"
ASSET_EXCLUDES = ["**/__pycache__", "**/*.pyc", ".pytest_cache"]
SERVICE_NAME = "items"
METRICS_NAMESPACE = "ServerlessPythonDelivery"
ALIAS_NAME = "live"
# Scale provisioned concurrency out when this share of it is in use.
PROVISIONED_UTILIZATION_TARGET = 0.7


@jsii.implements(lambda_.IDestination)
class _QueueDestination:
    """An SQS failure destination granting sqs:SendMessage only (SqsDestination also grants the queue
    key's ReEncrypt*/GenerateDataKey*; the function's exact KMS statement already covers the key)."""

    def __init__(self, queue: sqs.IQueue) -> None:
        self._queue = queue

    def bind(self, scope: Construct, fn: lambda_.IFunction, options: Any = None) -> lambda_.DestinationConfig:
        fn.add_to_role_policy(iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[self._queue.queue_arn]))
        return lambda_.DestinationConfig(destination=self._queue.queue_arn)


class ItemsFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_config: EnvironmentConfig,
        key: kms.IKey,
        tables: ItemsTables,
        secrets: ItemsSecrets,
    ) -> None:
        super().__init__(scope, construct_id)
        settings = env_config.function
        removal = RemovalPolicy.RETAIN if env_config.is_production else RemovalPolicy.DESTROY

        self.log_group = encrypted_log_group(
            self, "Logs", key=key, retention_days=env_config.log_retention_days, removal_policy=removal
        )
        # Receives events of asynchronous invocations that failed every retry (the API path is synchronous).
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        # Its own role, without AWSLambdaBasicExecutionRole: it may write to its own log group only.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"items API function ({env_config.name})",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        )
        self.function = lambda_.Function(
            self,
            "Function",
            role=self.role,
            description=f"items API ({env_config.name})",
            runtime=LAMBDA_RUNTIME,
            architecture=LAMBDA_ARCHITECTURE,
            handler="items_api.handler.lambda_handler",
            code=lambda_.Code.from_asset(str(RUNTIME_DIR), exclude=ASSET_EXCLUDES),
            layers=[powertools_layer(self, "Powertools")],
            memory_size=settings.memory_mb,
            timeout=Duration.seconds(settings.timeout_seconds),
            reserved_concurrent_executions=settings.reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            dead_letter_queue=self.dead_letter_queue,
            # Asynchronous invocations are retried twice within an hour, then land in the queue above.
            retry_attempts=2,
            max_event_age=Duration.hours(1),
            on_failure=_QueueDestination(self.dead_letter_queue),
            environment_encryption=key,
            environment={
                "TABLE_NAME": tables.table.table_name,
                "LIST_INDEX_NAME": LIST_INDEX_NAME,
                "IDEMPOTENCY_TABLE_NAME": tables.idempotency_table.table_name,
                "PAGINATION_SECRET_ARN": secrets.pagination.secret_arn,
                "CORS_ALLOWED_ORIGINS": ",".join(env_config.cors_allowed_origins),
                "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": "DEBUG" if env_config.name == "dev" else "INFO",
            },
        )
        self._grant_least_privilege(tables, secrets, key)

        provisioned = settings.provisioned_concurrency
        self.alias = lambda_.Alias(
            self,
            "Live",
            alias_name=ALIAS_NAME,
            version=self.function.current_version,
            provisioned_concurrent_executions=provisioned.min if provisioned else None,
        )
        if provisioned:
            scaling = self.alias.add_auto_scaling(min_capacity=provisioned.min, max_capacity=provisioned.max)
            scaling.scale_on_utilization(utilization_target=PROVISIONED_UTILIZATION_TARGET)

    def _grant_least_privilege(self, tables: ItemsTables, secrets: ItemsSecrets, key: kms.IKey) -> None:
        items, idempotency = tables.table, tables.idempotency_table
        # Table.grant() would add the table's index/* too; item operations need the table alone.
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"], resources=[items.table_arn]
            )
        )
        self.function.add_to_role_policy(
            iam.PolicyStatement(actions=["dynamodb:Query"], resources=[f"{items.table_arn}/index/{LIST_INDEX_NAME}"])
        )
        idempotency.grant(
            self.function, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"
        )
        # Exactly what DynamoDB, SQS and Secrets Manager ask of the caller's key (no ReEncrypt*, no wildcards).
        self.function.add_to_role_policy(
            iam.PolicyStatement(actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], resources=[key.key_arn])
        )
        secrets.pagination.grant_read(self.function)

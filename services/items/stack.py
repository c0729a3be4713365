"""The items service stack: composes one construct per capability and names its outputs."""

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from constructs import Construct

from config.schema import EnvironmentConfig
from services.items.api import ItemsRestApi
from services.items.auth import ItemsUserPool
from services.items.data import ItemsTables
from services.items.function import ItemsFunction, server_errors_metric
from services.items.ingest import ItemsIngest
from services.items.operations import ItemsOperations
from services.items.probe import (
    HEALTHY_API_RESPONSE,
    HEALTHY_WORKER_RESPONSE,
    health_probe_event,
    ingest_probe_event,
)
from services.items.secrets import ItemsSecrets
from services.platform.delivery import DeploymentHooks, ProgressiveDelivery
from services.platform.keys import ServiceKey


class ItemsStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, env_config: EnvironmentConfig, **kwargs: object) -> None:
        super().__init__(
            scope,
            construct_id,
            stack_name=f"{env_config.name}-items",
            description=(
                f"Items service ({env_config.name}): Cognito-protected REST API on Lambda (Powertools) "
                "over DynamoDB, bulk import through an S3 staging bucket, with alarms and a dashboard"
            ),
            termination_protection=env_config.is_production,
            **kwargs,  # type: ignore[arg-type]
        )
        removal = RemovalPolicy.RETAIN if env_config.is_production else RemovalPolicy.DESTROY
        key = ServiceKey(
            self, "Key", description=f"Encrypts the items service's data ({env_config.name})", removal_policy=removal
        )
        tables = ItemsTables(self, "Data", env_config=env_config, key=key)
        secrets = ItemsSecrets(self, "Secrets", env_config=env_config, key=key)
        ingest = ItemsIngest(self, "Ingest", env_config=env_config, key=key, tables=tables)
        function = ItemsFunction(
            self,
            "Function",
            env_config=env_config,
            key=key,
            tables=tables,
            secrets=secrets,
            ingest_bucket=ingest.bucket,
        )
        auth = ItemsUserPool(self, "Auth", env_config=env_config)
        api = ItemsRestApi(self, "Api", env_config=env_config, key=key, function=function, auth=auth)
        operations = ItemsOperations(
            self,
            "Operations",
            env_config=env_config,
            key=key,
            function=function,
            api=api,
            tables=tables,
            ingest=ingest,
        )
        hooks = DeploymentHooks(
            self,
            "DeploymentHooks",
            key=key,
            log_retention_days=env_config.log_retention_days,
            removal_policy=removal,
            description_suffix=env_config.name,
        )
        deployment = env_config.deployment
        thresholds = env_config.alarms
        self.delivery = ProgressiveDelivery(
            self,
            "Delivery",
            target=function,
            hooks=hooks,
            strategy=deployment.strategy,
            shift=deployment.traffic_shift,
            errors_threshold=thresholds.lambda_errors,
            throttles_threshold=thresholds.lambda_throttles,
            duration_threshold_ms=thresholds.lambda_duration_p99_ms,
            topic=operations.topic,
            key=key,
            probe_event=health_probe_event(),
            expected_response=HEALTHY_API_RESPONSE,
            # The handler's own count of 5xx answers (500, not the 503 of a busy table) by version: a
            # whole-API 5xx alarm here would keep a fix from rolling forward during an incident.
            extra_metrics={"NewVersionServerErrors": (server_errors_metric(function), 1)},
        )
        # The worker is released like the API function; its duration alarm allows most of its timeout.
        self.ingest_delivery = ProgressiveDelivery(
            self,
            "IngestDelivery",
            target=ingest.worker,
            hooks=hooks,
            strategy=deployment.strategy,
            shift=deployment.traffic_shift,
            errors_threshold=thresholds.lambda_errors,
            throttles_threshold=thresholds.lambda_throttles,
            duration_threshold_ms=env_config.ingest.worker_timeout_seconds * 800,
            topic=operations.topic,
            key=key,
            probe_event=ingest_probe_event(),
            expected_response=HEALTHY_WORKER_RESPONSE,
        )
        # The API serves traffic only once its data and secret exist (row A5: explicit dependencies).
        api.rest_api.node.add_dependency(tables, secrets)

        self.api_url_output = CfnOutput(
            self,
            "ApiUrl",
            value=api.url,
            description="Base URL of the items API",
            export_name=f"{env_config.name}-items-api-url",
        )
        CfnOutput(self, "UserPoolId", value=auth.user_pool.user_pool_id, description="Cognito user pool of API users")
        CfnOutput(self, "UserPoolClientId", value=auth.client.user_pool_client_id, description="Web client id")
        CfnOutput(
            self, "ApiKeyId", value=api.api_key.key_id, description="Id of the client API key (value in the console)"
        )
        CfnOutput(self, "TableName", value=tables.table.table_name, description="Items table")
        CfnOutput(self, "IngestBucketName", value=ingest.bucket.bucket_name, description="Staging bucket of uploads")
        CfnOutput(
            self, "IngestDeadLetterQueueUrl", value=ingest.dead_letter_queue.queue_url, description="Failed uploads"
        )
        CfnOutput(self, "FunctionArn", value=function.alias.function_arn, description="The live alias of the function")
        CfnOutput(self, "DashboardUrl", value=operations.dashboard_url, description="CloudWatch dashboard")
        CfnOutput(self, "AlarmTopicArn", value=operations.topic.topic_arn, description="Subscribe to receive alarms")

"""The items service stack: composes one construct per capability and names its outputs."""

from dataclasses import dataclass
from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from constructs import Construct

from config.schema import (
    AlarmConfig,
    ApiConfig,
    CustomDomainConfig,
    DeploymentConfig,
    FunctionConfig,
    IngestConfig,
    TableCapacity,
)
from services.items.api import ItemsRestApi
from services.items.auth import ItemsUserPool
from services.items.function import ItemsFunction, server_errors_metric
from services.items.ingest import ItemsIngest
from services.items.monitoring import ItemsMonitoring
from services.items.probe import (
    HEALTHY_API_RESPONSE,
    HEALTHY_WORKER_RESPONSE,
    health_probe_event,
    ingest_probe_event,
)
from services.items.secrets import ItemsSecrets
from services.items.smoke_identity import SmokeTestIdentity
from services.items.tables import ItemsTables
from services.platform.alarms import any_alarm
from services.platform.delivery import DeploymentHooks, ProgressiveDelivery
from services.platform.function import ServiceFunction
from services.platform.keys import ServiceKey


@dataclass(frozen=True)
class ItemsStackProps:
    """What the items service needs to know about the environment it runs in."""

    environment: str
    production: bool
    removal_policy: RemovalPolicy
    log_retention_days: int
    function: FunctionConfig
    table_capacity: TableCapacity
    api: ApiConfig
    cors_allowed_origins: tuple[str, ...]
    custom_domain: CustomDomainConfig | None
    # Whether this stack sets API Gateway's account-level CloudWatch role (once per account and region).
    manages_api_gateway_account: bool
    alarms: AlarmConfig
    deployment: DeploymentConfig
    ingest: IngestConfig
    # The pipeline's role that runs this stage's post-deploy tests: the one reader of their identity.
    smoke_test_reader_arn: str


class ItemsStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, props: ItemsStackProps, **kwargs: object) -> None:
        name = props.environment
        super().__init__(
            scope,
            construct_id,
            stack_name=f"{name}-items",
            description=(
                f"Items service ({name}): Cognito-protected REST API on Lambda (Powertools) "
                "over DynamoDB, bulk import through an S3 staging bucket, with alarms and a dashboard"
            ),
            termination_protection=props.production,
            **kwargs,  # type: ignore[arg-type]
        )
        removal, retention = props.removal_policy, props.log_retention_days
        key = ServiceKey(self, "Key", description=f"Encrypts the items service's data ({name})", removal_policy=removal)
        tables = ItemsTables(
            self,
            "Data",
            capacity=props.table_capacity,
            key=key,
            removal_policy=removal,
            deletion_protection=props.production,
        )
        secrets = ItemsSecrets(self, "Secrets", environment=name, key=key, removal_policy=removal)
        ingest = ItemsIngest(
            self,
            "Ingest",
            environment=name,
            settings=props.ingest,
            cors_allowed_origins=props.cors_allowed_origins,
            log_retention_days=retention,
            removal_policy=removal,
            key=key,
            tables=tables,
        )
        function = ItemsFunction(
            self,
            "Function",
            environment=name,
            settings=props.function,
            ingest=props.ingest,
            cors_allowed_origins=props.cors_allowed_origins,
            log_retention_days=retention,
            removal_policy=removal,
            key=key,
            tables=tables,
            secrets=secrets,
            ingest_bucket=ingest.bucket,
        )
        auth = ItemsUserPool(self, "Auth", environment=name, production=props.production, removal_policy=removal)
        api = ItemsRestApi(
            self,
            "Api",
            environment=name,
            settings=props.api,
            cors_allowed_origins=props.cors_allowed_origins,
            custom_domain=props.custom_domain,
            manages_account_settings=props.manages_api_gateway_account,
            log_retention_days=retention,
            removal_policy=removal,
            key=key,
            function=function,
            auth=auth,
        )
        self.smoke_test_identity = SmokeTestIdentity(
            self,
            "SmokeTestIdentity",
            environment=name,
            auth=auth,
            usage_plan=api.usage_plan,
            stage=api.rest_api.deployment_stage,
            key=key,
            reader_role_arn=props.smoke_test_reader_arn,
            removal_policy=removal,
        )
        monitoring = ItemsMonitoring(
            self,
            "Operations",
            environment=name,
            thresholds=props.alarms,
            queue_age_alarm_seconds=props.ingest.queue_age_alarm_seconds,
            import_age_alarm_seconds=props.ingest.import_age_alarm_seconds,
            key=key,
            function=function,
            api=api,
            tables=tables,
            ingest=ingest,
        )
        self._release(props, key, monitoring, function, ingest)
        # What the pipeline's bake watches: every alarm of the stack, operations and deployments alike.
        self.release_health_alarm_name = f"items-{name}-release-health"
        self.release_health = any_alarm(
            self,
            "ReleaseHealth",
            alarms=[
                *monitoring.alarms.all(),
                *self.delivery.alarms,
                *self.ingest_delivery.alarms,
                *self.import_delivery.alarms,
            ],
            alarm_name=self.release_health_alarm_name,
            description=f"Any alarm of the items service ({name}) is in ALARM: the pipeline's bake fails on it",
        )
        # The API serves traffic only once its data and secret exist.
        api.rest_api.node.add_dependency(tables, secrets)
        self._outputs(name, api, auth, tables, ingest, function, monitoring)

    def _release(
        self,
        props: ItemsStackProps,
        key: ServiceKey,
        monitoring: ItemsMonitoring,
        function: ItemsFunction,
        ingest: ItemsIngest,
    ) -> None:
        """Every application function goes out through CodeDeploy, behind the stack's one pair of hooks."""
        hooks = DeploymentHooks(
            self,
            "DeploymentHooks",
            key=key,
            log_retention_days=props.log_retention_days,
            removal_policy=props.removal_policy,
            description_suffix=props.environment,
        )
        deployment, thresholds = props.deployment, props.alarms

        def release(construct_id: str, target: ServiceFunction, **checks: Any) -> ProgressiveDelivery:
            return ProgressiveDelivery(
                self,
                construct_id,
                target=target,
                hooks=hooks,
                strategy=deployment.strategy,
                shift=deployment.traffic_shift,
                errors_threshold=thresholds.lambda_errors,
                throttles_threshold=thresholds.lambda_throttles,
                topic=monitoring.topic,
                key=key,
                **checks,
            )

        self.delivery = release(
            "Delivery",
            function,
            duration_threshold_ms=thresholds.lambda_duration_p99_ms,
            probe_event=health_probe_event(),
            expected_response=HEALTHY_API_RESPONSE,
            # The handler's own count of 5xx answers (500, not the 503 of a busy table) by version: a
            # whole-API 5xx alarm here would keep a fix from rolling forward during an incident.
            extra_metrics={"NewVersionServerErrors": (server_errors_metric(function), 1)},
        )
        # The worker's and the importer's duration alarms allow most of their timeouts: both stop
        # working at 70 % of it (items_runtime/logic/attempts.py), so only a stuck version reaches 80 %.
        self.ingest_delivery = release(
            "IngestDelivery",
            ingest.worker,
            duration_threshold_ms=props.ingest.worker_timeout_seconds * 800,
            probe_event=ingest_probe_event(),
            expected_response=HEALTHY_WORKER_RESPONSE,
        )
        self.import_delivery = release(
            "ImportDelivery",
            ingest.importer,
            duration_threshold_ms=props.ingest.import_timeout_seconds * 800,
            probe_event=ingest_probe_event(),
            expected_response=HEALTHY_WORKER_RESPONSE,
        )

    def _outputs(
        self,
        name: str,
        api: ItemsRestApi,
        auth: ItemsUserPool,
        tables: ItemsTables,
        ingest: ItemsIngest,
        function: ItemsFunction,
        monitoring: ItemsMonitoring,
    ) -> None:
        self.api_url_output = CfnOutput(
            self,
            "ApiUrl",
            value=api.url,
            description="Base URL of the items API",
            export_name=f"{name}-items-api-url",
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
        CfnOutput(
            self,
            "ImportDeadLetterQueueUrl",
            value=ingest.import_dead_letter_queue.queue_url,
            description="Import chunks that failed every attempt (redrive it to resume their jobs)",
        )
        CfnOutput(self, "FunctionArn", value=function.alias.function_arn, description="The live alias of the function")
        CfnOutput(self, "DashboardUrl", value=monitoring.dashboard_url, description="CloudWatch dashboard")
        CfnOutput(self, "AlarmTopicArn", value=monitoring.topic.topic_arn, description="Subscribe to receive alarms")
        self.smoke_test_identity_output = CfnOutput(
            self,
            "SmokeTestIdentitySecretArn",
            value=self.smoke_test_identity.secret.secret_arn,
            description="Secret holding the identity the post-deploy tests call the API with",
        )

"""The items API function: a ServiceFunction with the items data grants and, in prod, provisioned
concurrency on its `live` alias that scales with use."""

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from config.schema import FunctionConfig, IngestConfig
from services.items.asset import API_HANDLER, METRICS_NAMESPACE, RUNTIME_DIR, UPLOAD_PREFIX, runtime_environment
from services.items.ingest import ingest_environment
from services.items.secrets import ItemsSecrets
from services.items.tables import LIST_INDEX_NAME, ItemsTables
from services.platform.delivery import ALARM_PERIOD
from services.platform.function import ServiceFunction

SERVICE_NAME = "items"
# Scale provisioned concurrency out when this share of it is in use.
PROVISIONED_UTILIZATION_TARGET = 0.7


class ItemsFunction(ServiceFunction):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: str,
        settings: FunctionConfig,
        ingest: IngestConfig,
        cors_allowed_origins: tuple[str, ...],
        log_retention_days: int,
        removal_policy: RemovalPolicy,
        key: kms.IKey,
        tables: ItemsTables,
        secrets: ItemsSecrets,
        ingest_bucket: s3.IBucket,
    ) -> None:
        provisioned = settings.provisioned_concurrency
        variables = {
            "TABLE_NAME": tables.table.table_name,
            "LIST_INDEX_NAME": LIST_INDEX_NAME,
            "IDEMPOTENCY_TABLE_NAME": tables.idempotency_table.table_name,
            "PAGINATION_SECRET_ARN": secrets.pagination.secret_arn,
            **ingest_environment(ingest, tables, ingest_bucket),
            "CORS_ALLOWED_ORIGINS": ",".join(cors_allowed_origins),
            **runtime_environment(SERVICE_NAME, environment),
        }
        if settings.simulate_failure:
            variables["SIMULATE_FAILURE"] = "true"
        super().__init__(
            scope,
            construct_id,
            description=f"items API ({environment})",
            code_dir=RUNTIME_DIR,
            handler=API_HANDLER,
            key=key,
            log_retention_days=log_retention_days,
            removal_policy=removal_policy,
            environment=variables,
            memory_mb=settings.memory_mb,
            timeout=Duration.seconds(settings.timeout_seconds),
            reserved_concurrency=settings.reserved_concurrency,
            provisioned_concurrency=provisioned.min if provisioned else None,
        )
        self._grant_least_privilege(tables, secrets)
        # Signing an upload URL needs the permission the upload will use: put, under the upload prefix only.
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"], resources=[ingest_bucket.arn_for_objects(f"{UPLOAD_PREFIX}*")]
            )
        )
        if provisioned:
            scaling = self.alias.add_auto_scaling(min_capacity=provisioned.min, max_capacity=provisioned.max)
            scaling.scale_on_utilization(utilization_target=PROVISIONED_UTILIZATION_TARGET)

    def _grant_least_privilege(self, tables: ItemsTables, secrets: ItemsSecrets) -> None:
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
        secrets.pagination.grant_read(self.function)


def server_errors_metric(function: ItemsFunction) -> cloudwatch.Metric:
    """The handler's count of server errors it answered, by the version that answered
    (items_runtime/api.py publishes it with the dimensions service and version)."""
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name="ServerErrors",
        dimensions_map={"service": SERVICE_NAME, "version": function.version.version},
        period=ALARM_PERIOD,
        statistic="Sum",
    )

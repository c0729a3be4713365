"""Bulk import: a private staging bucket for uploads, whose "Object Created" events go through
EventBridge (the bucket's native integration, no notification custom resource) to an encrypted SQS
queue that feeds the worker; undeliverable events and messages that failed every attempt end in one
dead-letter queue."""

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from config.schema import IngestConfig
from services.items.asset import METRICS_NAMESPACE, RUNTIME_DIR, UPLOAD_PREFIX, WORKER_HANDLER
from services.items.tables import ItemsTables
from services.platform.buckets import access_log_bucket, private_bucket
from services.platform.function import ServiceFunction
from services.platform.queues import dead_letter_queue, encrypted_queue

# AWS's advice for an SQS event source: a visibility timeout of six times the function's timeout.
VISIBILITY_TIMEOUT_FACTOR = 6
MAX_RECEIVE_COUNT = 3
BATCH_SIZE = 5
INGEST_JOB_KEYS = "INGEST#*"
ITEM_KEYS = "ITEM#*"


class ItemsIngest(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: str,
        settings: IngestConfig,
        cors_allowed_origins: tuple[str, ...],
        log_retention_days: int,
        removal_policy: RemovalPolicy,
        key: kms.IKey,
        tables: ItemsTables,
    ) -> None:
        super().__init__(scope, construct_id)
        removal = removal_policy

        self.access_logs = access_log_bucket(self, "AccessLogs", removal_policy=removal)
        self.bucket = private_bucket(
            self,
            "StagingBucket",
            key=key,
            access_logs=self.access_logs,
            access_logs_prefix="staging/",
            removal_policy=removal,
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=Duration.days(settings.retention_days),
                    noncurrent_version_expiration=Duration.days(1),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            # Browsers PUT to the presigned URL straight from the allowed origins.
            cors=[
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.PUT],
                    allowed_origins=list(cors_allowed_origins),
                    allowed_headers=["Content-Type"],
                    max_age=300,
                )
            ],
        )
        # The bucket's own EventBridge switch. Bucket(event_bridge_enabled=True) would deploy it
        # through CDK's notifications custom resource, a Lambda function outside progressive delivery.
        cfn_bucket: s3.CfnBucket = self.bucket.node.default_child  # type: ignore[assignment]
        cfn_bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(event_bridge_enabled=True)
        )

        self.dead_letter_queue = dead_letter_queue(self, "DeadLetterQueue", key=key)
        self.queue = encrypted_queue(
            self,
            "Queue",
            key=key,
            visibility_timeout=Duration.seconds(settings.worker_timeout_seconds * VISIBILITY_TIMEOUT_FACTOR),
            retention_period=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=MAX_RECEIVE_COUNT, queue=self.dead_letter_queue),
        )
        self.rule = events.Rule(
            self,
            "UploadCreated",
            description=f"Uploads to the {environment} items staging bucket, for the ingest worker",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [self.bucket.bucket_name]},
                    "object": {"key": [{"prefix": UPLOAD_PREFIX}]},
                },
            ),
            targets=[
                targets.SqsQueue(
                    self.queue,
                    dead_letter_queue=self.dead_letter_queue,
                    retry_attempts=8,
                    max_event_age=Duration.hours(24),
                )
            ],
        )

        self.worker = IngestWorker(
            self,
            "Worker",
            environment=environment,
            settings=settings,
            log_retention_days=log_retention_days,
            removal_policy=removal_policy,
            key=key,
            tables=tables,
            bucket=self.bucket,
        )
        # Named here (SqsEventSource would name the mapping after the queue's generated id).
        self.worker.alias.add_event_source_mapping(
            "FromQueue",
            event_source_arn=self.queue.queue_arn,
            batch_size=BATCH_SIZE,
            report_batch_item_failures=True,
            max_concurrency=settings.worker_max_concurrency,
        )
        self.queue.grant_consume_messages(self.worker.function)


class IngestWorker(ServiceFunction):
    """Validates each upload and imports it into the items table; may read uploads only, and write
    only ingest jobs and items."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: str,
        settings: IngestConfig,
        log_retention_days: int,
        removal_policy: RemovalPolicy,
        key: kms.IKey,
        tables: ItemsTables,
        bucket: s3.IBucket,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            description=f"items ingest worker: validates and imports uploads ({environment})",
            code_dir=RUNTIME_DIR,
            handler=WORKER_HANDLER,
            key=key,
            log_retention_days=log_retention_days,
            removal_policy=removal_policy,
            environment={
                **ingest_environment(settings, tables, bucket),
                "POWERTOOLS_SERVICE_NAME": "items-ingest",
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": "DEBUG" if environment == "dev" else "INFO",
            },
            memory_mb=settings.worker_memory_mb,
            timeout=Duration.seconds(settings.worker_timeout_seconds),
        )
        table_arn = tables.table.table_arn
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:GetItem", "dynamodb:UpdateItem"],
                resources=[table_arn],
                conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [INGEST_JOB_KEYS]}},
            )
        )
        # Imported items are written in the transaction that finishes the job.
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:PutItem"],
                resources=[table_arn],
                conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [ITEM_KEYS]}},
            )
        )
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[bucket.arn_for_objects(f"{UPLOAD_PREFIX}*")],
            )
        )


def ingest_environment(settings: IngestConfig, tables: ItemsTables, bucket: s3.IBucket) -> dict[str, str]:
    """What both the API (signing upload URLs) and the worker read (IngestSettings, items_runtime/settings.py)."""
    return {
        "TABLE_NAME": tables.table.table_name,
        "INGEST_BUCKET_NAME": bucket.bucket_name,
        "UPLOAD_PREFIX": UPLOAD_PREFIX,
        "MAX_UPLOAD_BYTES": str(settings.max_upload_bytes),
        "MAX_RECORDS": str(settings.max_records),
        "UPLOAD_URL_EXPIRY_SECONDS": str(settings.upload_url_expiry_seconds),
    }

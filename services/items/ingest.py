"""Bulk import: a private staging bucket for uploads, whose "Object Created" events go through
EventBridge (the bucket's native integration, no notification custom resource) to an encrypted SQS
queue that feeds the worker (phase 1: validate the whole file, then send its chunks); an import queue
of chunks feeds the importer (phase 2: write each chunk's items, many chunks at once up to a maximum
concurrency). Each queue keeps what failed every attempt in its own dead-letter queue, from which a
redrive resumes the job."""

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from config.schema import IngestConfig
from services.items.asset import IMPORTER_HANDLER, RUNTIME_DIR, UPLOAD_PREFIX, WORKER_HANDLER, runtime_environment
from services.items.tables import ItemsTables
from services.platform.buckets import access_log_bucket, private_bucket
from services.platform.function import ServiceFunction
from services.platform.queues import dead_letter_queue, encrypted_queue

# AWS's advice for an SQS event source: a visibility timeout of six times the function's timeout.
VISIBILITY_TIMEOUT_FACTOR = 6
# AWS's advice for a Lambda event source with a maximum concurrency (both queues have one): at least 5
# receives, so that receives the maximum or a throttle turned away do not use up a message's attempts.
MAX_RECEIVE_COUNT = 5
IMPORT_MAX_RECEIVE_COUNT = 5
# One upload, one chunk per invocation: each may take most of an invocation's time.
BATCH_SIZE = 1
# SQS's longest: chunks of a slow (paced) import may wait days for their turn.
IMPORT_RETENTION = Duration.days(14)
INGEST_JOB_KEYS = "INGEST#*"
ITEM_KEYS = "ITEM#*"
SERVICE_NAME = "items-ingest"


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
        # The target's own statement admits EventBridge on the account alone (CDK's choice for an
        # encrypted queue); only this rule may send.
        self.queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OnlyTheUploadRuleSends",
                effect=iam.Effect.DENY,
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[self.queue.queue_arn],
                conditions={"ArnNotEquals": {"aws:SourceArn": self.rule.rule_arn}},
            )
        )

        self.import_dead_letter_queue = dead_letter_queue(self, "ImportDeadLetterQueue", key=key)
        self.import_queue = encrypted_queue(
            self,
            "ImportQueue",
            key=key,
            visibility_timeout=Duration.seconds(settings.import_timeout_seconds * VISIBILITY_TIMEOUT_FACTOR),
            retention_period=IMPORT_RETENTION,
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=IMPORT_MAX_RECEIVE_COUNT, queue=self.import_dead_letter_queue
            ),
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
            source_dead_letters=self.dead_letter_queue,
            import_queue=self.import_queue,
        )
        self.importer = IngestImporter(
            self,
            "Importer",
            environment=environment,
            settings=settings,
            log_retention_days=log_retention_days,
            removal_policy=removal_policy,
            key=key,
            tables=tables,
            bucket=self.bucket,
            import_queue=self.import_queue,
            source_dead_letters=self.import_dead_letter_queue,
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
        self.importer.alias.add_event_source_mapping(
            "FromImportQueue",
            event_source_arn=self.import_queue.queue_arn,
            batch_size=BATCH_SIZE,
            report_batch_item_failures=True,
            max_concurrency=settings.import_max_concurrency,
        )
        self.import_queue.grant_consume_messages(self.importer.function)


def _send_to(function: ServiceFunction, queue: sqs.IQueue) -> None:
    """sqs:SendMessage on the one queue (grant_send_messages would add the key's ReEncrypt* and
    GenerateDataKey*; the function's exact KMS statement already covers the key)."""
    function.function.add_to_role_policy(iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[queue.queue_arn]))


def _source_environment(prefix: str, dead_letters: sqs.IQueue, max_receive_count: int) -> dict[str, str]:
    """The queue a function reads: its receive limit and dead-letter queue (items_runtime/settings.py)."""
    return {
        f"{prefix}_MAX_RECEIVE_COUNT": str(max_receive_count),
        f"{prefix}_DEAD_LETTER_QUEUE_ARN": dead_letters.queue_arn,
    }


class IngestWorker(ServiceFunction):
    """Phase 1: validates each upload as a stream and sends an accepted one's chunks to the import
    queue; may read uploads only, update only ingest jobs, and send only to the import queue."""

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
        source_dead_letters: sqs.IQueue,
        import_queue: sqs.IQueue,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            description=f"items ingest worker: validates uploads, sends their chunks ({environment})",
            code_dir=RUNTIME_DIR,
            handler=WORKER_HANDLER,
            key=key,
            log_retention_days=log_retention_days,
            removal_policy=removal_policy,
            environment={
                **ingest_environment(settings, tables, bucket),
                "CHUNK_RECORDS": str(settings.chunk_records),
                "IMPORT_QUEUE_URL": import_queue.queue_url,
                **_source_environment("INGEST", source_dead_letters, MAX_RECEIVE_COUNT),
                **runtime_environment(SERVICE_NAME, environment),
            },
            memory_mb=settings.worker_memory_mb,
            timeout=Duration.seconds(settings.worker_timeout_seconds),
        )
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:GetItem", "dynamodb:UpdateItem"],
                resources=[tables.table.table_arn],
                conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [INGEST_JOB_KEYS]}},
            )
        )
        self.function.add_to_role_policy(_read_uploads(bucket))
        _send_to(self, import_queue)


class IngestImporter(ServiceFunction):
    """Phase 2: writes one chunk's items at a time, paced to the import's share of the table's write
    capacity; may read uploads, write items, update ingest jobs, read the table's capacity, and send
    only to its own queue (the rest of a chunk that needs another invocation)."""

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
        import_queue: sqs.IQueue,
        source_dead_letters: sqs.IQueue,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            description=f"items ingest importer: writes the chunks of accepted uploads ({environment})",
            code_dir=RUNTIME_DIR,
            handler=IMPORTER_HANDLER,
            key=key,
            log_retention_days=log_retention_days,
            removal_policy=removal_policy,
            environment={
                "TABLE_NAME": tables.table.table_name,
                "INGEST_BUCKET_NAME": bucket.bucket_name,
                "IMPORT_QUEUE_URL": import_queue.queue_url,
                "IMPORT_WRITE_SHARE": str(settings.import_write_share),
                "IMPORT_MAX_CONCURRENCY": str(settings.import_max_concurrency),
                **_source_environment("IMPORT", source_dead_letters, IMPORT_MAX_RECEIVE_COUNT),
                **runtime_environment(SERVICE_NAME, environment),
            },
            memory_mb=settings.import_memory_mb,
            timeout=Duration.seconds(settings.import_timeout_seconds),
        )
        table_arn = tables.table.table_arn
        # The job: its state, and the count of each chunk imported.
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:GetItem", "dynamodb:UpdateItem"],
                resources=[table_arn],
                conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [INGEST_JOB_KEYS]}},
            )
        )
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:BatchWriteItem"],
                resources=[table_arn],
                conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [ITEM_KEYS]}},
            )
        )
        # The provisioned write capacity the import paces itself to.
        self.function.add_to_role_policy(iam.PolicyStatement(actions=["dynamodb:DescribeTable"], resources=[table_arn]))
        self.function.add_to_role_policy(_read_uploads(bucket))
        _send_to(self, import_queue)


def _read_uploads(bucket: s3.IBucket) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        actions=["s3:GetObject", "s3:GetObjectVersion"], resources=[bucket.arn_for_objects(f"{UPLOAD_PREFIX}*")]
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

"""Monitoring of the items service: the alarms (to a KMS-encrypted SNS topic) and the dashboard.

Each alarm is an attribute of ItemsAlarms, made with the alarm helper progressive delivery uses too;
the dashboard shows the same metrics and every alarm's state."""

from dataclasses import astuple, dataclass

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from config.schema import OPERATIONS_ALARM_PERIOD_MINUTES, AlarmConfig
from services.items.api import ItemsRestApi
from services.items.asset import METRICS_NAMESPACE
from services.items.function import ItemsFunction
from services.items.ingest import ItemsIngest
from services.items.tables import ItemsTables
from services.platform.alarms import threshold_alarm

PERIOD = Duration.minutes(OPERATIONS_ALARM_PERIOD_MINUTES)
# An error rate means something only over enough requests. In a quiet environment the post-deploy tests
# are a period's requests: about 40, a quarter of them deliberate 4xx answers (refused tokens, a 404
# after a delete), which must not raise the 4xx alarm; past 50 requests their share is below 20%.
MIN_REQUESTS_FOR_A_RATE = 50
TABLE_OPERATIONS = [
    dynamodb.Operation.GET_ITEM,
    dynamodb.Operation.PUT_ITEM,
    dynamodb.Operation.DELETE_ITEM,
    dynamodb.Operation.QUERY,
]


@dataclass(frozen=True)
class ItemsAlarms:
    function_errors: cloudwatch.Alarm
    function_throttles: cloudwatch.Alarm
    function_duration_p99: cloudwatch.Alarm
    api_5xx_rate: cloudwatch.Alarm
    api_4xx_rate: cloudwatch.Alarm
    api_latency_p99: cloudwatch.Alarm
    table_throttles: cloudwatch.Alarm
    table_system_errors: cloudwatch.Alarm
    dead_letters: cloudwatch.Alarm
    ingest_worker_errors: cloudwatch.Alarm
    ingest_dead_letters: cloudwatch.Alarm
    ingest_queue_age: cloudwatch.Alarm
    import_chunk_failures: cloudwatch.Alarm
    import_dead_letters: cloudwatch.Alarm
    import_age: cloudwatch.Alarm

    def all(self) -> list[cloudwatch.Alarm]:
        return list(astuple(self))


class ItemsMonitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: str,
        thresholds: AlarmConfig,
        queue_age_alarm_seconds: int,
        import_age_alarm_seconds: int,
        key: kms.IKey,
        function: ItemsFunction,
        api: ItemsRestApi,
        tables: ItemsTables,
        ingest: ItemsIngest,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self, "AlarmTopic", display_name=f"items alarms ({environment})", master_key=key, enforce_ssl=True
        )
        for email in thresholds.emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        self._metrics = _Metrics(function, api, tables, ingest)
        self.alarms = self._alarms(thresholds, queue_age_alarm_seconds, import_age_alarm_seconds)
        self._notify(self.alarms)
        region = Stack.of(self).region
        self.dashboard = self._dashboard(f"items-{environment}-{region}")
        self.dashboard_url = (
            f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
            f"#dashboards:name={self.dashboard.dashboard_name}"
        )

    def _alarms(
        self, thresholds: AlarmConfig, queue_age_alarm_seconds: int, import_age_alarm_seconds: int
    ) -> ItemsAlarms:
        m = self._metrics
        return ItemsAlarms(
            function_errors=self._alarm(
                "FunctionErrors",
                m.alias.metric_errors(period=PERIOD, statistic="Sum"),
                thresholds.lambda_errors,
                "The items function returned errors",
            ),
            function_throttles=self._alarm(
                "FunctionThrottles",
                m.alias.metric_throttles(period=PERIOD, statistic="Sum"),
                thresholds.lambda_throttles,
                "The items function was throttled",
            ),
            function_duration_p99=self._alarm(
                "FunctionDurationP99",
                m.alias.metric_duration(period=PERIOD, statistic="p99"),
                thresholds.lambda_duration_p99_ms,
                "The items function's p99 duration is high (ms)",
            ),
            api_5xx_rate=self._alarm(
                "Api5xxRate",
                _rate(m.api_5xx, m.api_requests, "5XX rate (%)"),
                thresholds.api_5xx_rate_percent,
                "The items API answers with server errors (% of requests)",
            ),
            api_4xx_rate=self._alarm(
                "Api4xxRate",
                _rate(m.api_4xx, m.api_requests, "4XX rate (%)"),
                thresholds.api_4xx_rate_percent,
                "The items API answers unusually many client errors (% of requests)",
            ),
            api_latency_p99=self._alarm(
                "ApiLatencyP99",
                m.rest_api.metric_latency(period=PERIOD, statistic="p99"),
                thresholds.api_latency_p99_ms,
                "The items API's p99 latency is high (ms)",
            ),
            table_throttles=self._alarm(
                "TableThrottles", m.throttle_events, 1, "The items table throttled reads or writes"
            ),
            table_system_errors=self._alarm(
                "TableSystemErrors",
                m.table.metric_system_errors_for_operations(operations=TABLE_OPERATIONS, period=PERIOD),
                1,
                "DynamoDB returned system errors for the items table",
            ),
            dead_letters=self._alarm(
                "DeadLetters",
                m.function_dead_letters.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Max"),
                1,
                "Failed asynchronous invocations are waiting in the dead-letter queue",
            ),
            ingest_worker_errors=self._alarm(
                "IngestWorkerErrors",
                m.worker.metric_errors(period=PERIOD, statistic="Sum"),
                thresholds.lambda_errors,
                "The ingest worker failed (uploads are retried, then kept in the ingest dead-letter queue)",
            ),
            ingest_dead_letters=self._alarm(
                "IngestDeadLetters",
                m.ingest.dead_letter_queue.metric_approximate_number_of_messages_visible(
                    period=PERIOD, statistic="Max"
                ),
                1,
                "Upload events could not be delivered or failed every attempt: see the ingest dead-letter queue",
            ),
            ingest_queue_age=self._alarm(
                "IngestQueueAge",
                m.ingest.queue.metric_approximate_age_of_oldest_message(period=PERIOD, statistic="Max"),
                queue_age_alarm_seconds,
                "Uploads wait too long for the ingest worker (seconds)",
            ),
            import_chunk_failures=self._alarm(
                "ImportChunkFailures",
                m.importer.metric_errors(period=PERIOD, statistic="Sum"),
                thresholds.lambda_errors,
                "Import chunks failed (each is retried, then kept in the import dead-letter queue)",
            ),
            import_dead_letters=self._alarm(
                "ImportDeadLetters",
                m.ingest.import_dead_letter_queue.metric_approximate_number_of_messages_visible(
                    period=PERIOD, statistic="Max"
                ),
                1,
                "Import chunks failed every attempt and their jobs are FAILED: fix the cause, then redrive the "
                "import dead-letter queue",
            ),
            import_age=self._alarm(
                "ImportAge",
                m.ingest.import_queue.metric_approximate_age_of_oldest_message(period=PERIOD, statistic="Max"),
                import_age_alarm_seconds,
                "Import chunks wait too long (seconds): imports fall behind the capacity they may use",
            ),
        )

    def _alarm(self, name: str, metric: cloudwatch.IMetric, threshold: float, description: str) -> cloudwatch.Alarm:
        return threshold_alarm(self, name, metric=metric, threshold=threshold, description=description)

    def _notify(self, alarms: ItemsAlarms) -> None:
        action = cloudwatch_actions.SnsAction(self.topic)
        for alarm in alarms.all():
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)
        # A topic policy replaces SNS's default one (enforce_ssl creates it), so CloudWatch may publish only
        # if the policy says so: these alarms of this account, nothing else.
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowTheseAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": Stack.of(self).account},
                    "ArnEquals": {"aws:SourceArn": [alarm.alarm_arn for alarm in alarms.all()]},
                },
            )
        )

    def _dashboard(self, name: str) -> cloudwatch.Dashboard:
        m = self._metrics
        alias, rest_api, table, worker, ingest = m.alias, m.rest_api, m.table, m.worker, m.ingest
        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=name, default_interval=Duration.hours(3))
        dashboard.add_widgets(
            cloudwatch.GraphWidget(title="API requests", left=[m.api_requests], width=6),
            cloudwatch.GraphWidget(
                title="API latency (ms)",
                left=[rest_api.metric_latency(period=PERIOD, statistic=s) for s in ("p50", "p90", "p99")],
                width=6,
            ),
            cloudwatch.GraphWidget(title="API errors", left=[m.api_4xx, m.api_5xx], width=6),
            cloudwatch.GraphWidget(
                title="API cache",
                left=[rest_api.metric_cache_hit_count(period=PERIOD), rest_api.metric_cache_miss_count(period=PERIOD)],
                width=6,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Function invocations", left=[alias.metric_invocations(period=PERIOD)], width=6
            ),
            cloudwatch.GraphWidget(
                title="Function errors and throttles",
                left=[alias.metric_errors(period=PERIOD), alias.metric_throttles(period=PERIOD)],
                width=6,
            ),
            cloudwatch.GraphWidget(
                title="Function duration (ms)",
                left=[alias.metric_duration(period=PERIOD, statistic=s) for s in ("p50", "p99", "Maximum")],
                width=6,
            ),
            cloudwatch.GraphWidget(
                title="Provisioned concurrency spillover",
                left=[alias.metric("ProvisionedConcurrencySpilloverInvocations", period=PERIOD, statistic="Sum")],
                width=6,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Table consumed capacity",
                left=[
                    table.metric_consumed_read_capacity_units(period=PERIOD),
                    table.metric_consumed_write_capacity_units(period=PERIOD),
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(title="Table throttles", left=[m.throttle_events], width=8),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms.all(), width=8),
        )
        uploads = [
            cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=name,
                dimensions_map={"service": "items-ingest"},
                period=PERIOD,
                statistic="Sum",
            )
            for name in ("UploadAccepted", "UploadRejected", "UploadFailed")
        ]
        records = [
            cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=name,
                dimensions_map={"service": "items-ingest"},
                period=PERIOD,
                statistic="Sum",
            )
            for name in ("RecordsValidated", "RecordsImported")
        ]
        dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Uploads accepted / rejected / failed", left=uploads, width=6),
            cloudwatch.GraphWidget(
                title="Ingest queue",
                left=[ingest.queue.metric_approximate_number_of_messages_visible(period=PERIOD)],
                right=[ingest.queue.metric_approximate_age_of_oldest_message(period=PERIOD)],
                width=6,
            ),
            cloudwatch.GraphWidget(
                title="Ingest worker errors and duration (ms)",
                left=[worker.metric_errors(period=PERIOD)],
                right=[worker.metric_duration(period=PERIOD, statistic="p99")],
                width=6,
            ),
            cloudwatch.GraphWidget(
                title="Ingest dead letters",
                left=[ingest.dead_letter_queue.metric_approximate_number_of_messages_visible(period=PERIOD)],
                width=6,
            ),
        )
        importer = m.importer
        dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Records validated / imported", left=records, width=6),
            cloudwatch.GraphWidget(
                title="Import chunks waiting, oldest (s)",
                left=[ingest.import_queue.metric_approximate_number_of_messages_visible(period=PERIOD)],
                right=[ingest.import_queue.metric_approximate_age_of_oldest_message(period=PERIOD)],
                width=6,
            ),
            cloudwatch.GraphWidget(
                title="Importer: failed chunks, concurrency, duration (ms)",
                left=[
                    importer.metric_errors(period=PERIOD),
                    importer.metric("ConcurrentExecutions", period=PERIOD, statistic="Maximum"),
                ],
                right=[importer.metric_duration(period=PERIOD, statistic="p99")],
                width=6,
            ),
            cloudwatch.GraphWidget(
                title="Import dead letters",
                left=[ingest.import_dead_letter_queue.metric_approximate_number_of_messages_visible(period=PERIOD)],
                width=6,
            ),
        )
        return dashboard


class _Metrics:
    """The metrics the alarms and the dashboard share (each made once: a metric object per widget)."""

    def __init__(self, function: ItemsFunction, api: ItemsRestApi, tables: ItemsTables, ingest: ItemsIngest) -> None:
        self.alias, self.rest_api, self.table = function.alias, api.rest_api, tables.table
        self.function_dead_letters = function.dead_letter_queue
        self.worker, self.importer, self.ingest = ingest.worker.alias, ingest.importer.alias, ingest
        self.api_requests = self.rest_api.metric_count(period=PERIOD, statistic="Sum")
        self.api_5xx = self.rest_api.metric_server_error(period=PERIOD, statistic="Sum")
        self.api_4xx = self.rest_api.metric_client_error(period=PERIOD, statistic="Sum")
        self.throttle_events = cloudwatch.MathExpression(
            expression="reads + writes",
            using_metrics={
                "reads": _table_metric(self.table, "ReadThrottleEvents"),
                "writes": _table_metric(self.table, "WriteThrottleEvents"),
            },
            label="Throttle events",
            period=PERIOD,
        )


def _rate(errors: cloudwatch.IMetric, requests: cloudwatch.IMetric, label: str) -> cloudwatch.MathExpression:
    return cloudwatch.MathExpression(
        expression=f"IF(requests >= {MIN_REQUESTS_FOR_A_RATE}, 100 * errors / requests, 0)",
        using_metrics={"errors": errors, "requests": requests},
        label=label,
        period=PERIOD,
    )


def _table_metric(table: dynamodb.ITableV2, metric_name: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace="AWS/DynamoDB",
        metric_name=metric_name,
        dimensions_map={"TableName": table.table_name},
        period=PERIOD,
        statistic="Sum",
    )

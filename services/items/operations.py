"""Alarms (to a KMS-encrypted SNS topic) and a dashboard for the items service."""

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from config.schema import EnvironmentConfig
from services.items.api import ItemsRestApi
from services.items.assets import METRICS_NAMESPACE
from services.items.data import ItemsTables
from services.items.function import ItemsFunction
from services.items.ingest import ItemsIngest

PERIOD = Duration.minutes(5)
TABLE_OPERATIONS = [
    dynamodb.Operation.GET_ITEM,
    dynamodb.Operation.PUT_ITEM,
    dynamodb.Operation.DELETE_ITEM,
    dynamodb.Operation.QUERY,
]


class ItemsOperations(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_config: EnvironmentConfig,
        key: kms.IKey,
        function: ItemsFunction,
        api: ItemsRestApi,
        tables: ItemsTables,
        ingest: ItemsIngest,
    ) -> None:
        super().__init__(scope, construct_id)
        thresholds = env_config.alarms
        self.topic = sns.Topic(
            self, "AlarmTopic", display_name=f"items alarms ({env_config.name})", master_key=key, enforce_ssl=True
        )
        for email in thresholds.emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))

        alias, rest_api, table = function.alias, api.rest_api, tables.table
        api_requests = rest_api.metric_count(period=PERIOD, statistic="Sum")
        api_5xx = rest_api.metric_server_error(period=PERIOD, statistic="Sum")
        api_4xx = rest_api.metric_client_error(period=PERIOD, statistic="Sum")
        throttle_events = cloudwatch.MathExpression(
            expression="reads + writes",
            using_metrics={
                "reads": _table_metric(table, "ReadThrottleEvents"),
                "writes": _table_metric(table, "WriteThrottleEvents"),
            },
            label="Throttle events",
            period=PERIOD,
        )

        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self._alarm(
            "FunctionErrors",
            alias.metric_errors(period=PERIOD, statistic="Sum"),
            thresholds.lambda_errors,
            "The items function returned errors",
        )
        self._alarm(
            "FunctionThrottles",
            alias.metric_throttles(period=PERIOD, statistic="Sum"),
            thresholds.lambda_throttles,
            "The items function was throttled",
        )
        self._alarm(
            "FunctionDurationP99",
            alias.metric_duration(period=PERIOD, statistic="p99"),
            thresholds.lambda_duration_p99_ms,
            "The items function's p99 duration is high (ms)",
        )
        self._alarm(
            "Api5xxRate",
            _rate(api_5xx, api_requests, "5XX rate (%)"),
            thresholds.api_5xx_rate_percent,
            "The items API answers with server errors (% of requests)",
        )
        self._alarm(
            "Api4xxRate",
            _rate(api_4xx, api_requests, "4XX rate (%)"),
            thresholds.api_4xx_rate_percent,
            "The items API answers unusually many client errors (% of requests)",
        )
        self._alarm(
            "ApiLatencyP99",
            rest_api.metric_latency(period=PERIOD, statistic="p99"),
            thresholds.api_latency_p99_ms,
            "The items API's p99 latency is high (ms)",
        )
        self._alarm("TableThrottles", throttle_events, 1, "The items table throttled reads or writes")
        self._alarm(
            "TableSystemErrors",
            table.metric_system_errors_for_operations(operations=TABLE_OPERATIONS, period=PERIOD),
            1,
            "DynamoDB returned system errors for the items table",
        )
        self._alarm(
            "DeadLetters",
            function.dead_letter_queue.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Max"),
            1,
            "Failed asynchronous invocations are waiting in the dead-letter queue",
        )

        worker = ingest.worker.alias
        self._alarm(
            "IngestWorkerErrors",
            worker.metric_errors(period=PERIOD, statistic="Sum"),
            thresholds.lambda_errors,
            "The ingest worker failed (uploads are retried, then kept in the ingest dead-letter queue)",
        )
        self._alarm(
            "IngestDeadLetters",
            ingest.dead_letter_queue.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Max"),
            1,
            "Upload events could not be delivered or failed every attempt: see the ingest dead-letter queue",
        )
        self._alarm(
            "IngestQueueAge",
            ingest.queue.metric_approximate_age_of_oldest_message(period=PERIOD, statistic="Max"),
            env_config.ingest.queue_age_alarm_seconds,
            "Uploads wait too long for the ingest worker (seconds)",
        )

        self._allow_alarms_to_publish()

        region = Stack.of(self).region
        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=f"items-{env_config.name}-{region}", default_interval=Duration.hours(3)
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="API requests", left=[api_requests], width=6),
            cloudwatch.GraphWidget(
                title="API latency (ms)",
                left=[rest_api.metric_latency(period=PERIOD, statistic=s) for s in ("p50", "p90", "p99")],
                width=6,
            ),
            cloudwatch.GraphWidget(title="API errors", left=[api_4xx, api_5xx], width=6),
            cloudwatch.GraphWidget(
                title="API cache",
                left=[rest_api.metric_cache_hit_count(period=PERIOD), rest_api.metric_cache_miss_count(period=PERIOD)],
                width=6,
            ),
        )
        self.dashboard.add_widgets(
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
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Table consumed capacity",
                left=[
                    table.metric_consumed_read_capacity_units(period=PERIOD),
                    table.metric_consumed_write_capacity_units(period=PERIOD),
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(title="Table throttles", left=[throttle_events], width=8),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms.values()), width=8),
        )
        uploads = [
            cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=name,
                dimensions_map={"service": "items-ingest"},
                period=PERIOD,
                statistic="Sum",
            )
            for name in ("UploadAccepted", "UploadRejected", "RecordsImported")
        ]
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Uploads accepted / rejected, records imported", left=uploads, width=6),
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
        self.dashboard_url = (
            f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
            f"#dashboards:name={self.dashboard.dashboard_name}"
        )

    def _allow_alarms_to_publish(self) -> None:
        """A topic policy replaces SNS's default one (enforce_ssl creates it), so CloudWatch may publish only
        if the policy says so: these alarms of this account, nothing else."""
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowTheseAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": Stack.of(self).account},
                    "ArnEquals": {"aws:SourceArn": [alarm.alarm_arn for alarm in self.alarms.values()]},
                },
            )
        )

    def _alarm(self, name: str, metric: cloudwatch.IMetric, threshold: float, description: str) -> None:
        alarm = cloudwatch.Alarm(
            self,
            name,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        action = cloudwatch_actions.SnsAction(self.topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        self.alarms[name] = alarm


def _rate(errors: cloudwatch.IMetric, requests: cloudwatch.IMetric, label: str) -> cloudwatch.MathExpression:
    return cloudwatch.MathExpression(
        expression="IF(requests > 0, 100 * errors / requests, 0)",
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

"""The one way alarms are made here: breach at or above a threshold, missing data is not a breach; and the
composite that is in ALARM while any of a stack's alarms is."""

from collections.abc import Sequence

from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct


def threshold_alarm(
    scope: Construct,
    construct_id: str,
    *,
    metric: cloudwatch.IMetric,
    threshold: float,
    description: str,
    evaluation_periods: int = 1,
    datapoints_to_alarm: int | None = None,
) -> cloudwatch.Alarm:
    return cloudwatch.Alarm(
        scope,
        construct_id,
        metric=metric,
        threshold=threshold,
        evaluation_periods=evaluation_periods,
        datapoints_to_alarm=datapoints_to_alarm,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        alarm_description=description,
    )


def any_alarm(
    scope: Construct, construct_id: str, *, alarms: Sequence[cloudwatch.IAlarm], alarm_name: str, description: str
) -> cloudwatch.CompositeAlarm:
    """In ALARM while any of the alarms is: one name a pipeline condition can watch for all of them. It has no
    actions of its own, since each alarm already notifies."""
    return cloudwatch.CompositeAlarm(
        scope,
        construct_id,
        composite_alarm_name=alarm_name,
        alarm_rule=cloudwatch.AlarmRule.any_of(*alarms),
        alarm_description=description,
        actions_enabled=False,
    )

"""The items table (keys, list index, provisioned capacity with auto scaling) and the idempotency table."""

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from config.schema import Range, TableCapacity

LIST_INDEX_NAME = "gsi1"
# Scale out when consumed capacity passes this share of the provisioned capacity.
TARGET_UTILIZATION_PERCENT = 70


def _write_capacity(units: Range) -> dynamodb.Capacity:
    # TableV2 (AWS::DynamoDB::GlobalTable) only takes auto-scaled write capacity; min == max pins it.
    return dynamodb.Capacity.autoscaled(
        min_capacity=units.min, max_capacity=units.max, target_utilization_percent=TARGET_UTILIZATION_PERCENT
    )


def _capacity(units: Range) -> dynamodb.Capacity:
    if units.fixed:
        return dynamodb.Capacity.fixed(units.min)
    return dynamodb.Capacity.autoscaled(
        min_capacity=units.min, max_capacity=units.max, target_utilization_percent=TARGET_UTILIZATION_PERCENT
    )


class ItemsTables(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        capacity: TableCapacity,
        key: kms.IKey,
        removal_policy: RemovalPolicy,
        deletion_protection: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        pitr = dynamodb.PointInTimeRecoverySpecification(point_in_time_recovery_enabled=True)

        self.table = dynamodb.TableV2(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing=dynamodb.Billing.provisioned(
                read_capacity=_capacity(capacity.read), write_capacity=_write_capacity(capacity.write)
            ),
            global_secondary_indexes=[
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name=LIST_INDEX_NAME,
                    partition_key=dynamodb.Attribute(name="gsi1pk", type=dynamodb.AttributeType.STRING),
                    sort_key=dynamodb.Attribute(name="gsi1sk", type=dynamodb.AttributeType.STRING),
                    read_capacity=_capacity(capacity.read),
                    write_capacity=_write_capacity(capacity.write),
                )
            ],
            encryption=dynamodb.TableEncryptionV2.customer_managed_key(key),
            point_in_time_recovery_specification=pitr,
            dynamo_stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
            deletion_protection=deletion_protection,
            removal_policy=removal_policy,
        )
        # Powertools idempotency records: short-lived, expired by DynamoDB TTL.
        self.idempotency_table = dynamodb.TableV2(
            self,
            "IdempotencyTable",
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            time_to_live_attribute="expiration",
            billing=dynamodb.Billing.on_demand(),
            encryption=dynamodb.TableEncryptionV2.customer_managed_key(key),
            point_in_time_recovery_specification=pitr,
            deletion_protection=deletion_protection,
            removal_policy=removal_policy,
        )

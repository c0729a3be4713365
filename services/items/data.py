"""The items table: partition/sort key, a list index, provisioned capacity, a customer key."""

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from stages.config import EnvironmentConfig

LIST_INDEX_NAME = "gsi1"


class ItemsTable(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, env_config: EnvironmentConfig) -> None:
        super().__init__(scope, construct_id)
        removal = RemovalPolicy.RETAIN if env_config.is_production else RemovalPolicy.DESTROY

        self.key = kms.Key(
            self,
            "Key",
            description=f"Encrypts the items table ({env_config.name})",
            enable_key_rotation=True,
            removal_policy=removal,
        )
        self.table = dynamodb.TableV2(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing=dynamodb.Billing.provisioned(
                read_capacity=dynamodb.Capacity.fixed(env_config.table_read_capacity),
                write_capacity=dynamodb.Capacity.autoscaled(
                    min_capacity=env_config.table_write_capacity,
                    max_capacity=env_config.table_write_capacity * 10,
                ),
            ),
            global_secondary_indexes=[
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name=LIST_INDEX_NAME,
                    partition_key=dynamodb.Attribute(name="gsi1pk", type=dynamodb.AttributeType.STRING),
                    sort_key=dynamodb.Attribute(name="gsi1sk", type=dynamodb.AttributeType.STRING),
                    read_capacity=dynamodb.Capacity.fixed(env_config.table_read_capacity),
                )
            ],
            encryption=dynamodb.TableEncryptionV2.customer_managed_key(self.key),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            dynamo_stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
            deletion_protection=env_config.is_production,
            removal_policy=removal,
        )

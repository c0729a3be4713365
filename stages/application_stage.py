"""One deployment of the application: every service stack of one environment in one region."""

from aws_cdk import Environment, Stage, Tags
from constructs import Construct

from config.schema import EnvironmentConfig
from services.items.smoke_identity import reader_statements
from services.items.stack import ItemsStack, ItemsStackProps

PROJECT_TAG = "serverless-python-delivery"


def items_props(
    env_config: EnvironmentConfig, *, smoke_test_role_arn: str, manages_api_gateway_account: bool = True
) -> ItemsStackProps:
    """What of the environment's configuration the items service uses."""
    return ItemsStackProps(
        environment=env_config.name,
        production=env_config.is_production,
        removal_policy=env_config.removal_policy,
        log_retention_days=env_config.log_retention_days,
        function=env_config.function,
        table_capacity=env_config.table_capacity,
        api=env_config.api,
        cors_allowed_origins=env_config.cors_allowed_origins,
        custom_domain=env_config.custom_domain,
        manages_api_gateway_account=manages_api_gateway_account,
        alarms=env_config.alarms,
        deployment=env_config.deployment,
        ingest=env_config.ingest,
        smoke_test_reader_arn=smoke_test_role_arn,
    )


class ApplicationStage(Stage):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_config: EnvironmentConfig,
        region: str,
        smoke_test_role_arn: str,
        manages_account_settings: bool = True,
    ) -> None:
        """`smoke_test_role_arn`: the pipeline's role that runs this stage's post-deploy tests.
        `manages_account_settings`: this is the first stage of its account and region, which sets the
        account-wide settings (API Gateway's CloudWatch role) for the stages after it."""
        super().__init__(scope, construct_id, env=Environment(account=env_config.account, region=region))
        self.environment_name = env_config.name
        self.manages_account_settings = manages_account_settings

        self.items = ItemsStack(
            self,
            "Items",
            props=items_props(
                env_config,
                smoke_test_role_arn=smoke_test_role_arn,
                manages_api_gateway_account=manages_account_settings,
            ),
        )
        self.api_url_output = self.items.api_url_output
        # The alarms a bake of this stage watches (CloudWatch names are unique per account and region).
        self.release_health_alarm_names: tuple[str, ...] = (self.items.release_health_alarm_name,)
        self.smoke_test_identity_output = self.items.smoke_test_identity_output
        # What the smoke-test role needs to read that identity, and nothing more of this stage.
        self.smoke_test_reader_statements = reader_statements(env_config.account, region, env_config.name)

        Tags.of(self).add("project", PROJECT_TAG)
        Tags.of(self).add("environment", env_config.name)
        Tags.of(self).add("managed-by", "cdk-pipelines")

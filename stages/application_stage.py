"""One deployment of the application: every service stack of one environment in one region."""

from aws_cdk import Environment, Stage, Tags
from constructs import Construct

from config.schema import EnvironmentConfig
from services.items.stack import ItemsStack

PROJECT_TAG = "serverless-python-delivery"


class ApplicationStage(Stage):
    def __init__(self, scope: Construct, construct_id: str, *, env_config: EnvironmentConfig, region: str) -> None:
        super().__init__(scope, construct_id, env=Environment(account=env_config.account, region=region))
        self.env_config = env_config

        self.items = ItemsStack(self, "Items", env_config=env_config)
        self.api_url_output = self.items.api_url_output

        Tags.of(self).add("project", PROJECT_TAG)
        Tags.of(self).add("environment", env_config.name)
        Tags.of(self).add("managed-by", "cdk-pipelines")

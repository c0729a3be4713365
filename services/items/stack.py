"""The items service stack: composes the table and the API, and names its outputs."""

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from services.items.api import ItemsApi
from services.items.data import ItemsTable
from stages.config import EnvironmentConfig


class ItemsStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, env_config: EnvironmentConfig, **kwargs: object) -> None:
        super().__init__(
            scope,
            construct_id,
            stack_name=f"{env_config.name}-items",
            description=f"Items service ({env_config.name}): REST API on Lambda with Powertools over DynamoDB",
            termination_protection=env_config.is_production,
            **kwargs,  # type: ignore[arg-type]
        )
        data = ItemsTable(self, "Data", env_config=env_config)
        api = ItemsApi(self, "Api", env_config=env_config, data=data)

        self.api_url_output = CfnOutput(self, "ApiUrl", value=api.rest_api.url, description="Base URL of the items API")
        CfnOutput(self, "UserPoolId", value=api.user_pool.user_pool_id, description="Cognito user pool of API users")
        CfnOutput(self, "UserPoolClientId", value=api.user_pool_client.user_pool_client_id)
        CfnOutput(self, "TableName", value=data.table.table_name)
        CfnOutput(self, "FunctionArn", value=api.function.function_arn)

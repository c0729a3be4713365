"""The items REST API: a Cognito-protected API Gateway in front of one Powertools Lambda function."""

from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from services.items.data import LIST_INDEX_NAME, ItemsTable
from services.items.powertools import LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME, powertools_layer
from services.platform.logs import LogsKey, encrypted_log_group
from stages.config import EnvironmentConfig

RUNTIME_DIR = Path(__file__).parent / "runtime"
SERVICE_NAME = "items"
ASSET_EXCLUDES = ["**/__pycache__", "**/*.pyc", ".pytest_cache"]


class ItemsApi(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, env_config: EnvironmentConfig, data: ItemsTable) -> None:
        super().__init__(scope, construct_id)
        removal = RemovalPolicy.RETAIN if env_config.is_production else RemovalPolicy.DESTROY

        self.logs_key = LogsKey(
            self,
            "LogsKey",
            description=f"Encrypts the items API log groups ({env_config.name})",
            removal_policy=removal,
        )
        function_logs = encrypted_log_group(
            self,
            "FunctionLogs",
            key=self.logs_key,
            retention_days=env_config.log_retention_days,
            removal_policy=removal,
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description=f"items API ({env_config.name})",
            runtime=LAMBDA_RUNTIME,
            architecture=LAMBDA_ARCHITECTURE,
            handler="items_api.handler.lambda_handler",
            code=lambda_.Code.from_asset(str(RUNTIME_DIR), exclude=ASSET_EXCLUDES),
            layers=[powertools_layer(self, "Powertools")],
            memory_size=env_config.lambda_memory_mb,
            timeout=Duration.seconds(10),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=function_logs,
            environment={
                "TABLE_NAME": data.table.table_name,
                "LIST_INDEX_NAME": LIST_INDEX_NAME,
                "CORS_ALLOWED_ORIGINS": ",".join(env_config.cors_allowed_origins),
                "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
                "POWERTOOLS_METRICS_NAMESPACE": "ServerlessPythonDelivery",
                "POWERTOOLS_LOG_LEVEL": "DEBUG" if env_config.name == "dev" else "INFO",
            },
        )
        data.table.grant(self.function, "dynamodb:PutItem", "dynamodb:GetItem")
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:Query"],
                resources=[f"{data.table.table_arn}/index/{LIST_INDEX_NAME}"],
            )
        )
        data.key.grant_encrypt_decrypt(self.function)

        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            password_policy=cognito.PasswordPolicy(
                min_length=12, require_digits=True, require_lowercase=True, require_uppercase=True, require_symbols=True
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            deletion_protection=env_config.is_production,
            removal_policy=removal,
        )
        self.user_pool_client = self.user_pool.add_client(
            "WebClient",
            auth_flows=cognito.AuthFlow(user_srp=True),
            prevent_user_existence_errors=True,
        )

        access_logs = encrypted_log_group(
            self, "AccessLogs", key=self.logs_key, retention_days=env_config.log_retention_days, removal_policy=removal
        )
        self.rest_api = apigw.LambdaRestApi(
            self,
            "RestApi",
            handler=self.function,
            proxy=False,
            description=f"items API ({env_config.name})",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=False,
            deploy_options=apigw.StageOptions(
                stage_name="api",
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                throttling_rate_limit=100,
                throttling_burst_limit=200,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
            ),
            default_cors_preflight_options=apigw.CorsOptions(
                allow_origins=list(env_config.cors_allowed_origins),
                allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
                allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
                max_age=Duration.minutes(5),
            ),
        )
        # The stack names the URL output itself (ApiUrl), so drop the construct's generated one.
        self.rest_api.node.try_remove_child("Endpoint")
        authorizer = apigw.CognitoUserPoolsAuthorizer(self, "Authorizer", cognito_user_pools=[self.user_pool])
        protected = {"authorizer": authorizer, "authorization_type": apigw.AuthorizationType.COGNITO}

        self.rest_api.root.add_resource("health").add_method("GET")
        items = self.rest_api.root.add_resource("items")
        items.add_method("GET", **protected)
        items.add_method("POST", **protected)
        items.add_resource("{item_id}").add_method("GET", **protected)

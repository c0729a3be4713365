"""The items REST API: regional API Gateway, Cognito authorizer, request validation, caching,
usage plan and API key, JSON access logs, X-Ray, WAF outside dev, optional custom domain."""

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_kms as kms
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as targets
from constructs import Construct

from config.schema import ApiConfig, CustomDomainConfig
from services.items.auth import SIGNED_IN_USER_SCOPE, ItemsUserPool
from services.items.function import ItemsFunction
from services.items.request_models import request_model
from services.platform.logs import encrypted_log_group
from services.platform.waf import RegionalWebAcl

STAGE_NAME = "api"
CACHE_CLUSTER_SIZE_GB = "0.5"
ALLOWED_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "X-Api-Key"]
# A per-IP WAF limit well above the stage throttle, to stop floods before they reach the throttle.
WAF_REQUESTS_PER_5_MINUTES_PER_IP = 2000
# Cached answers are kept per token, so no caller is ever served another caller's answer, and a new
# token (a new session) reads through the cache.
CALLER = "method.request.header.Authorization"


def _every_content_type(model: apigw.IModel) -> dict[str, apigw.IModel]:
    """API Gateway validates a body only against the model of its Content-Type, and not at all when none
    matches; `$default` covers every other content type, so no body reaches the function unvalidated
    (the function then answers 415 to any type but application/json)."""
    return {"application/json": model, "$default": model}


class ItemsRestApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: str,
        settings: ApiConfig,
        cors_allowed_origins: tuple[str, ...],
        custom_domain: CustomDomainConfig | None,
        manages_account_settings: bool,
        log_retention_days: int,
        removal_policy: RemovalPolicy,
        key: kms.IKey,
        function: ItemsFunction,
        auth: ItemsUserPool,
    ) -> None:
        super().__init__(scope, construct_id)
        api_config = settings
        removal = removal_policy
        caching = api_config.cache_ttl_seconds > 0

        access_logs = encrypted_log_group(
            self, "AccessLogs", key=key, retention_days=log_retention_days, removal_policy=removal
        )
        cached_get = apigw.MethodDeploymentOptions(
            caching_enabled=True,
            cache_ttl=Duration.seconds(api_config.cache_ttl_seconds),
            cache_data_encrypted=True,
        )
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=f"items-{environment}",
            description=f"items API ({environment})",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            default_integration=apigw.LambdaIntegration(function.alias),
            # Execution logging needs the account-level CloudWatch role, one setting per account and region:
            # the first stage of each account and region manages it, and keeps it should that stage go.
            cloud_watch_role=manages_account_settings,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN if manages_account_settings else None,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE_NAME,
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                throttling_rate_limit=api_config.throttle_rate_limit,
                throttling_burst_limit=api_config.throttle_burst_limit,
                cache_cluster_enabled=caching,
                cache_cluster_size=CACHE_CLUSTER_SIZE_GB if caching else None,
                method_options={"/items/GET": cached_get, "/items/{item_id}/GET": cached_get} if caching else None,
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
                allow_origins=list(cors_allowed_origins),
                allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
                allow_headers=ALLOWED_HEADERS,
                max_age=Duration.minutes(5),
            ),
        )
        # The stack names the URL output itself (ApiUrl), so drop the construct's generated one.
        self.rest_api.node.try_remove_child("Endpoint")
        self._add_routes(function, auth, api_key_required=api_config.api_key_required)
        self._add_usage_plan(environment, api_config)

        if api_config.waf_enabled:
            waf = RegionalWebAcl(
                self,
                "Waf",
                name=f"items-{environment}",
                requests_per_5_minutes_per_ip=WAF_REQUESTS_PER_5_MINUTES_PER_IP,
            )
            waf.protect("StageAssociation", self.rest_api.deployment_stage.stage_arn)
            waf.log_to(
                encrypted_log_group(
                    self,
                    "WafLogs",
                    key=key,
                    retention_days=log_retention_days,
                    removal_policy=removal,
                    name=f"aws-waf-logs-items-{environment}",
                ),
                redacted_headers=("authorization", "x-api-key"),
            )

        self.url = self.rest_api.url
        if custom_domain:
            self.url = self._add_custom_domain(custom_domain)

    def _add_routes(self, function: ItemsFunction, auth: ItemsUserPool, *, api_key_required: bool) -> None:
        api = self.rest_api
        authorizer = apigw.CognitoUserPoolsAuthorizer(self, "Authorizer", cognito_user_pools=[auth.user_pool])
        # With scopes on a method, API Gateway takes access tokens carrying one of them (and no ID tokens):
        # a signed-in person's token, or a machine client's token with the items scope the method needs.
        authorized = {
            "authorizer": authorizer,
            "authorization_type": apigw.AuthorizationType.COGNITO,
            "api_key_required": api_key_required,
        }
        reads = {**authorized, "authorization_scopes": [auth.read_scope.scope_name, SIGNED_IN_USER_SCOPE]}
        writes = {**authorized, "authorization_scopes": [auth.write_scope.scope_name, SIGNED_IN_USER_SCOPE]}
        item_model = api.add_model(
            "ItemModel", content_type="application/json", model_name="ItemIn", schema=request_model("ItemIn")
        )
        validate_body = api.add_request_validator(
            "BodyValidator", validate_request_body=True, validate_request_parameters=True
        )
        validate_parameters = api.add_request_validator("ParameterValidator", validate_request_parameters=True)

        api.root.add_resource("health").add_method("GET")

        items = api.root.add_resource("items")
        list_parameters = {
            "method.request.querystring.limit": False,
            "method.request.querystring.next_token": False,
            CALLER: False,
        }
        items.add_method(
            "GET",
            apigw.LambdaIntegration(function.alias, cache_key_parameters=list(list_parameters)),
            request_parameters=list_parameters,
            request_validator=validate_parameters,
            **reads,
        )
        items.add_method(
            "POST", request_models=_every_content_type(item_model), request_validator=validate_body, **writes
        )

        item = items.add_resource("{item_id}")
        path_parameter = {"method.request.path.item_id": True}
        item.add_method(
            "GET",
            apigw.LambdaIntegration(function.alias, cache_key_parameters=[*path_parameter, CALLER]),
            request_parameters={**path_parameter, CALLER: False},
            request_validator=validate_parameters,
            **reads,
        )
        item.add_method(
            "PUT",
            request_parameters=path_parameter,
            request_models=_every_content_type(item_model),
            request_validator=validate_body,
            **writes,
        )
        item.add_method("DELETE", request_parameters=path_parameter, request_validator=validate_parameters, **writes)

        # Bulk import. Never cached: an upload's status changes while the worker runs.
        ingest_model = api.add_model(
            "IngestModel",
            content_type="application/json",
            model_name="IngestRequest",
            schema=request_model("IngestRequest"),
        )
        ingest = api.root.add_resource("ingest")
        ingest.add_method(
            "POST", request_models=_every_content_type(ingest_model), request_validator=validate_body, **writes
        )
        ingest.add_resource("{ingest_id}").add_method(
            "GET",
            request_parameters={"method.request.path.ingest_id": True},
            request_validator=validate_parameters,
            **reads,
        )

    def _add_usage_plan(self, environment: str, api_config: ApiConfig) -> None:
        self.usage_plan = self.rest_api.add_usage_plan(
            "UsagePlan",
            name=f"items-{environment}",
            description="Default plan of the items API's clients",
            throttle=apigw.ThrottleSettings(
                rate_limit=api_config.throttle_rate_limit, burst_limit=api_config.throttle_burst_limit
            ),
            quota=apigw.QuotaSettings(limit=api_config.daily_quota, period=apigw.Period.DAY),
            api_stages=[apigw.UsagePlanPerApiStage(api=self.rest_api, stage=self.rest_api.deployment_stage)],
        )
        self.api_key = self.rest_api.add_api_key("ApiKey", description=f"items API client key ({environment})")
        self.usage_plan.add_api_key(self.api_key)

    def _add_custom_domain(self, domain: CustomDomainConfig) -> str:
        custom = apigw.DomainName(
            self,
            "Domain",
            domain_name=domain.domain_name,
            certificate=acm.Certificate.from_certificate_arn(self, "Certificate", domain.certificate_arn),
            endpoint_type=apigw.EndpointType.REGIONAL,
            security_policy=apigw.SecurityPolicy.TLS_1_2,
        )
        custom.add_base_path_mapping(self.rest_api, stage=self.rest_api.deployment_stage)
        zone = route53.HostedZone.from_hosted_zone_attributes(
            self, "Zone", hosted_zone_id=domain.hosted_zone_id, zone_name=domain.hosted_zone_name
        )
        route53.ARecord(
            self,
            "Alias",
            zone=zone,
            record_name=domain.domain_name,
            target=route53.RecordTarget.from_alias(targets.ApiGatewayDomain(custom)),
        )
        return f"https://{domain.domain_name}/"

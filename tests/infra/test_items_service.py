"""The items service in every stage: each feature of source rows A2-A5 and the API/auth part of A1,
per environment where the values differ."""

import json
from pathlib import Path
from typing import Any

import pytest

from services.items.asset import OPENAPI_DOCUMENT
from services.platform.lambda_runtime import POWERTOOLS_LAYER_VERSION
from tests.synth_fixtures import Synthesized, only_resource, resource_with_prefix, resources_of

STAGES = {
    "dev": "eu-west-1",
    "staging": "eu-west-1",
    "prod-eu-west-1": "eu-west-1",
    "prod-eu-central-1": "eu-central-1",
}
ACCOUNTS = {"dev": "111111111111", "staging": "222222222222", "prod": "333333333333"}


def _env(stage_id: str) -> str:
    return stage_id.split("-", 1)[0]


@pytest.fixture(scope="module")
def templates(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    return {stage_id: synthesized.stage_template(stage_id) for stage_id in STAGES}


def _function(template: dict[str, Any]) -> dict[str, Any]:
    return resource_with_prefix(template, "AWS::Lambda::Function", "Function")["Properties"]


def _table(template: dict[str, Any]) -> dict[str, Any]:
    return resource_with_prefix(template, "AWS::DynamoDB::GlobalTable", "DataTable")


def _statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        statement
        for policy in resources_of(template, "AWS::IAM::Policy").values()
        if any("FunctionRole" in json.dumps(r) for r in policy["Properties"]["Roles"])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _actions(statement: dict[str, Any]) -> list[str]:
    return statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]


# --- stage layout ------------------------------------------------------------------------------


def test_one_stage_assembly_per_environment_and_region(synthesized: Synthesized) -> None:
    assert sorted(stage_id for stage_id, _ in synthesized.stage_assemblies()) == sorted(STAGES)


def test_each_stage_deploys_to_its_configured_account_and_region(synthesized: Synthesized) -> None:
    for stage_id, stacks in synthesized.stage_assemblies():
        (stack,) = stacks.values()
        assert stack.account == ACCOUNTS[_env(stage_id)]
        assert stack.region == STAGES[stage_id]
        assert stack.stack_name == f"{_env(stage_id)}-items"


def test_stack_has_a_description(templates: dict[str, dict[str, Any]]) -> None:
    for template in templates.values():
        assert template["Description"].startswith("Items service (")


# --- Lambda ------------------------------------------------------------------------------------


def test_function_runs_newest_python_on_arm_with_the_pinned_powertools_layer(
    templates: dict[str, dict[str, Any]],
) -> None:
    for stage_id, template in templates.items():
        properties = _function(template)
        assert properties["Runtime"] == "python3.14"
        assert properties["Architectures"] == ["arm64"]
        assert properties["Handler"] == "items_runtime.api.lambda_handler"
        assert properties["TracingConfig"] == {"Mode": "Active"}
        (layer,) = properties["Layers"]
        assert layer == (
            f"arn:aws:lambda:{STAGES[stage_id]}:017000801446:layer:"
            f"AWSLambdaPowertoolsPythonV3-python314-arm64:{POWERTOOLS_LAYER_VERSION}"
        )


def test_function_environment_names_its_resources_and_is_encrypted(templates: dict[str, dict[str, Any]]) -> None:
    properties = _function(templates["dev"])
    variables = properties["Environment"]["Variables"]
    assert variables["LIST_INDEX_NAME"] == "gsi1"
    assert set(variables) >= {"TABLE_NAME", "IDEMPOTENCY_TABLE_NAME", "PAGINATION_SECRET_ARN"}
    assert variables["POWERTOOLS_SERVICE_NAME"] == "items"
    assert variables["CORS_ALLOWED_ORIGINS"] == "http://localhost:3000"
    assert properties["KmsKeyArn"]["Fn::GetAtt"][0].startswith("Key")


def test_function_sizing_follows_the_environment(templates: dict[str, dict[str, Any]]) -> None:
    sizing = {
        s: (_function(t)["MemorySize"], _function(t).get("ReservedConcurrentExecutions")) for s, t in templates.items()
    }
    assert sizing == {
        # Dev reserves nothing, so a fresh account (concurrency quota 10) can hold it.
        "dev": (256, None),
        "staging": (512, 20),
        "prod-eu-west-1": (1024, 100),
        "prod-eu-central-1": (1024, 100),
    }


def test_function_sends_failed_async_events_to_an_encrypted_dead_letter_queue(
    templates: dict[str, dict[str, Any]],
) -> None:
    template = templates["staging"]
    target = _function(template)["DeadLetterConfig"]["TargetArn"]["Fn::GetAtt"][0]
    queue = template["Resources"][target]
    assert queue["Type"] == "AWS::SQS::Queue"
    assert queue["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0].startswith("Key")
    assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_async_invocations_are_retried_then_dead_lettered(templates: dict[str, dict[str, Any]]) -> None:
    # On the alias callers use: an EventInvokeConfig applies to its own qualifier only.
    config = resource_with_prefix(templates["dev"], "AWS::Lambda::EventInvokeConfig", "FunctionLiveEventInvokeConfig")
    assert config["Properties"]["MaximumRetryAttempts"] == 2
    assert config["Properties"]["MaximumEventAgeInSeconds"] == 3600
    failure = config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]
    assert failure["Fn::GetAtt"][0].startswith("FunctionDeadLetterQueue")


def test_api_url_is_exported_per_environment(templates: dict[str, dict[str, Any]]) -> None:
    for stage_id, template in templates.items():
        assert template["Outputs"]["ApiUrl"]["Export"] == {"Name": f"{_env(stage_id)}-items-api-url"}


def test_function_is_published_behind_the_live_alias(templates: dict[str, dict[str, Any]]) -> None:
    for template in templates.values():
        alias = resource_with_prefix(template, "AWS::Lambda::Alias", "FunctionLive")
        assert alias["Properties"]["Name"] == "live"
        assert "Fn::GetAtt" in alias["Properties"]["FunctionVersion"]
        # The API function, the ingest worker and the importer; the deployment hooks are not released.
        assert len(resources_of(template, "AWS::Lambda::Version")) == 3


def test_prod_alias_keeps_provisioned_concurrency_that_scales(templates: dict[str, dict[str, Any]]) -> None:
    for stage_id, template in templates.items():
        alias = resource_with_prefix(template, "AWS::Lambda::Alias", "FunctionLive")
        provisioned = alias["Properties"].get("ProvisionedConcurrencyConfig")
        targets = resources_of(template, "AWS::ApplicationAutoScaling::ScalableTarget")
        lambda_targets = [t for t in targets.values() if t["Properties"]["ServiceNamespace"] == "lambda"]
        if _env(stage_id) == "prod":
            assert provisioned == {"ProvisionedConcurrentExecutions": 2}
            (target,) = lambda_targets
            assert (target["Properties"]["MinCapacity"], target["Properties"]["MaxCapacity"]) == (2, 20)
            assert target["Properties"]["ScalableDimension"] == "lambda:function:ProvisionedConcurrency"
        else:
            assert provisioned is None
            assert not lambda_targets


def test_api_integrations_invoke_the_alias_never_latest(templates: dict[str, dict[str, Any]]) -> None:
    for template in templates.values():
        for method in resources_of(template, "AWS::ApiGateway::Method").values():
            integration = method["Properties"].get("Integration", {})
            if integration.get("Type") == "AWS_PROXY":
                assert "FunctionLive" in json.dumps(integration["Uri"]), "the proxy integration targets the alias"
        for permission in resources_of(template, "AWS::Lambda::Permission").values():
            assert "FunctionLive" in json.dumps(permission["Properties"]["FunctionName"])


def test_function_role_is_least_privilege(templates: dict[str, dict[str, Any]]) -> None:
    statements = _statements(templates["dev"])
    dynamodb = {(a, json.dumps(s["Resource"])) for s in statements for a in _actions(s) if a.startswith("dynamodb:")}
    items = {a for a, r in dynamodb if "DataTable" in r and "index" not in r}
    idempotency = {a for a, r in dynamodb if "DataIdempotencyTable" in r}
    index = {a for a, r in dynamodb if "/index/gsi1" in r}
    assert items == {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"}
    assert idempotency == {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    assert index == {"dynamodb:Query"}
    secrets = [s for s in statements if any(a.startswith("secretsmanager:") for a in _actions(s))]
    assert secrets
    for statement in secrets:
        assert "SecretsPaginationKey" in json.dumps(statement["Resource"])
    for statement in statements:
        assert statement["Resource"] != "*" or set(_actions(statement)) <= {
            "xray:PutTraceSegments",
            "xray:PutTelemetryRecords",
        }
    kms = [s for s in statements if any(a.startswith("kms:") for a in _actions(s))]
    assert {a for s in kms for a in _actions(s)} == {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"}


def test_function_role_has_no_managed_policies_and_writes_only_its_log_group(
    templates: dict[str, dict[str, Any]],
) -> None:
    template = templates["dev"]
    role = resource_with_prefix(template, "AWS::IAM::Role", "FunctionRole")["Properties"]
    assert "ManagedPolicyArns" not in role
    logs = [s for s in _statements(template) if any(a.startswith("logs:") for a in _actions(s))]
    (statement,) = logs
    assert set(_actions(statement)) == {"logs:CreateLogStream", "logs:PutLogEvents"}
    assert statement["Resource"]["Fn::GetAtt"][0].startswith("FunctionLogs")


# --- data --------------------------------------------------------------------------------------


def test_table_has_keys_list_index_stream_pitr_and_customer_key(templates: dict[str, dict[str, Any]]) -> None:
    properties = _table(templates["staging"])["Properties"]
    assert properties["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    (index,) = properties["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "gsi1"
    assert index["KeySchema"] == [
        {"AttributeName": "gsi1pk", "KeyType": "HASH"},
        {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
    ]
    assert properties["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    (replica,) = properties["Replicas"]
    assert replica["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert properties["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
    assert replica["SSESpecification"]["KMSMasterKeyId"]["Fn::GetAtt"][0].startswith("Key")


@pytest.mark.parametrize(
    ("stage_id", "read", "write"),
    [("dev", (2, 2), (2, 2)), ("staging", (5, 50), (5, 50)), ("prod-eu-west-1", (10, 500), (10, 500))],
)
def test_table_capacity_follows_the_environment(
    templates: dict[str, dict[str, Any]], stage_id: str, read: tuple[int, int], write: tuple[int, int]
) -> None:
    properties = _table(templates[stage_id])["Properties"]
    scaling = properties["WriteProvisionedThroughputSettings"]["WriteCapacityAutoScalingSettings"]
    assert (scaling["MinCapacity"], scaling["MaxCapacity"]) == write
    (replica,) = properties["Replicas"]
    read_settings = replica["ReadProvisionedThroughputSettings"]
    if read[0] == read[1]:
        assert read_settings == {"ReadCapacityUnits": read[0]}
    else:
        auto = read_settings["ReadCapacityAutoScalingSettings"]
        assert (auto["MinCapacity"], auto["MaxCapacity"]) == read
        assert auto["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 70


def test_idempotency_table_expires_records_and_is_encrypted(templates: dict[str, dict[str, Any]]) -> None:
    properties = resource_with_prefix(templates["dev"], "AWS::DynamoDB::GlobalTable", "DataIdempotencyTable")[
        "Properties"
    ]
    assert properties["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["SSESpecification"]["SSEType"] == "KMS"


def test_one_rotating_customer_key_encrypts_the_service(templates: dict[str, dict[str, Any]]) -> None:
    template = templates["prod-eu-west-1"]
    keys = resources_of(template, "AWS::KMS::Key")
    assert len(keys) == 1
    (key_id,) = keys
    assert keys[key_id]["Properties"]["EnableKeyRotation"] is True
    text = json.dumps(template["Resources"])
    for user in ("AWS::Logs::LogGroup", "AWS::SNS::Topic", "AWS::SQS::Queue", "AWS::SecretsManager::Secret"):
        for resource in resources_of(template, user).values():
            assert key_id in json.dumps(resource["Properties"]), user
    assert text.count(key_id) > 8


def test_key_lets_cloudwatch_logs_and_alarms_use_it(templates: dict[str, dict[str, Any]]) -> None:
    _, key = only_resource(templates["dev"], "AWS::KMS::Key")
    services = {s.get("Principal", {}).get("Service", "") for s in key["Properties"]["KeyPolicy"]["Statement"]}
    assert "logs.eu-west-1.amazonaws.com" in services
    assert "cloudwatch.amazonaws.com" in services


# --- secrets -----------------------------------------------------------------------------------


def test_pagination_secret_is_generated_and_encrypted(templates: dict[str, dict[str, Any]]) -> None:
    secret = resource_with_prefix(templates["dev"], "AWS::SecretsManager::Secret", "SecretsPaginationKey")
    generator = secret["Properties"]["GenerateSecretString"]
    assert generator["GenerateStringKey"] == "pagination_key"
    assert generator["PasswordLength"] == 64
    assert "KmsKeyId" in secret["Properties"]


# --- API ---------------------------------------------------------------------------------------


def _methods(template: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    resources = {k: v["Properties"]["PathPart"] for k, v in resources_of(template, "AWS::ApiGateway::Resource").items()}
    routes = {}
    for method in resources_of(template, "AWS::ApiGateway::Method").values():
        properties = method["Properties"]
        resource_id = properties["ResourceId"]
        path = resources[resource_id["Ref"]] if "Ref" in resource_id else "/"
        routes[(path, properties["HttpMethod"])] = properties
    return routes


def test_api_is_regional(templates: dict[str, dict[str, Any]]) -> None:
    _, api = only_resource(templates["dev"], "AWS::ApiGateway::RestApi")
    assert api["Properties"]["EndpointConfiguration"] == {"Types": ["REGIONAL"]}


def test_items_routes_require_cognito_and_health_does_not(templates: dict[str, dict[str, Any]]) -> None:
    routes = {k: v["AuthorizationType"] for k, v in _methods(templates["dev"]).items() if k[1] != "OPTIONS"}
    assert routes == {
        ("health", "GET"): "NONE",
        ("items", "GET"): "COGNITO_USER_POOLS",
        ("items", "POST"): "COGNITO_USER_POOLS",
        ("{item_id}", "GET"): "COGNITO_USER_POOLS",
        ("{item_id}", "PUT"): "COGNITO_USER_POOLS",
        ("{item_id}", "DELETE"): "COGNITO_USER_POOLS",
        ("ingest", "POST"): "COGNITO_USER_POOLS",
        ("{ingest_id}", "GET"): "COGNITO_USER_POOLS",
    }
    _, authorizer = only_resource(templates["dev"], "AWS::ApiGateway::Authorizer")
    assert authorizer["Properties"]["Type"] == "COGNITO_USER_POOLS"


def test_items_routes_require_an_api_key_of_the_usage_plan(templates: dict[str, dict[str, Any]]) -> None:
    for (path, verb), method in _methods(templates["prod-eu-west-1"]).items():
        if verb != "OPTIONS":
            assert method.get("ApiKeyRequired", False) is (path != "health"), (path, verb)
    _, plan = only_resource(templates["prod-eu-west-1"], "AWS::ApiGateway::UsagePlan")
    assert plan["Properties"]["Quota"] == {"Limit": 1000000, "Period": "DAY"}
    assert plan["Properties"]["Throttle"] == {"BurstLimit": 400, "RateLimit": 200}
    plan_keys = resources_of(templates["prod-eu-west-1"], "AWS::ApiGateway::UsagePlanKey").values()
    # The clients' key and the post-deploy tests' key.
    assert [k["Properties"]["KeyType"] for k in plan_keys] == ["API_KEY", "API_KEY"]


def test_request_bodies_are_validated_against_the_item_model(templates: dict[str, dict[str, Any]]) -> None:
    template = templates["dev"]
    model = resource_with_prefix(template, "AWS::ApiGateway::Model", "ApiRestApiItemModel")
    schema = model["Properties"]["Schema"]
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert schema["required"] == ["name"]
    assert schema["additionalProperties"] is False
    document = json.loads(OPENAPI_DOCUMENT.read_text(encoding="utf-8"))
    name_pattern = document["components"]["schemas"]["ItemIn"]["properties"]["name"]["pattern"]
    assert schema["properties"]["name"] == {"type": "string", "minLength": 1, "maxLength": 200, "pattern": name_pattern}
    assert schema["properties"]["quantity"] == {"type": "number", "multipleOf": 1, "minimum": 0, "maximum": 1000000}
    validators = {k: v["Properties"] for k, v in resources_of(template, "AWS::ApiGateway::RequestValidator").items()}
    methods = _methods(template)
    ingest_schema = resource_with_prefix(template, "AWS::ApiGateway::Model", "ApiRestApiIngestModel")["Properties"]
    assert ingest_schema["Schema"]["properties"] == {"format": {"type": "string", "enum": ["jsonl", "csv"]}}
    assert ingest_schema["Schema"]["additionalProperties"] is False
    assert methods[("{ingest_id}", "GET")]["RequestParameters"] == {"method.request.path.ingest_id": True}
    for route in (("items", "POST"), ("{item_id}", "PUT"), ("ingest", "POST")):
        validator = validators[methods[route]["RequestValidatorId"]["Ref"]]
        assert validator["ValidateRequestBody"] is True
        models = methods[route]["RequestModels"]
        assert set(models) == {"application/json", "$default"}, "every content type is validated"
        assert models["application/json"] == models["$default"]
    for route in (("{item_id}", "GET"), ("{item_id}", "DELETE")):
        assert methods[route]["RequestParameters"]["method.request.path.item_id"] is True
        assert validators[methods[route]["RequestValidatorId"]["Ref"]]["ValidateRequestParameters"] is True


def _stage(template: dict[str, Any]) -> dict[str, Any]:
    return only_resource(template, "AWS::ApiGateway::Stage")[1]["Properties"]


def test_stage_is_traced_logged_and_throttled_per_environment(templates: dict[str, dict[str, Any]]) -> None:
    expected = {"dev": (20, 40), "staging": (50, 100), "prod-eu-west-1": (200, 400)}
    for stage_id, (rate, burst) in expected.items():
        stage = _stage(templates[stage_id])
        assert stage["TracingEnabled"] is True
        assert stage["StageName"] == "api"
        default = next(s for s in stage["MethodSettings"] if s["ResourcePath"] == "/*")
        assert (default["ThrottlingRateLimit"], default["ThrottlingBurstLimit"]) == (rate, burst)
        assert default["LoggingLevel"] == "ERROR"
        assert default["DataTraceEnabled"] is False
        log_format = json.loads(stage["AccessLogSetting"]["Format"])
        assert log_format["status"] == "$context.status"
        assert log_format["requestId"] == "$context.requestId"


def test_get_responses_are_cached_ten_minutes_outside_dev(templates: dict[str, dict[str, Any]]) -> None:
    assert not _stage(templates["dev"]).get("CacheClusterEnabled")
    for stage_id in ("staging", "prod-eu-west-1"):
        stage = _stage(templates[stage_id])
        assert stage["CacheClusterEnabled"] is True
        assert stage["CacheClusterSize"] == "0.5"
        cached = {s["ResourcePath"]: s for s in stage["MethodSettings"] if s.get("CachingEnabled")}
        assert set(cached) == {"/~1items", "/~1items~1{item_id}"}
        for setting in cached.values():
            assert setting["HttpMethod"] == "GET"
            assert setting["CacheTtlInSeconds"] == 600
            assert setting["CacheDataEncrypted"] is True
    methods = _methods(templates["staging"])
    assert methods[("{item_id}", "GET")]["Integration"]["CacheKeyParameters"] == [
        "method.request.path.item_id",
        "method.request.header.Authorization",
    ]


def test_cached_answers_are_kept_per_token(templates: dict[str, dict[str, Any]]) -> None:
    """No caller is served another caller's cached answer, and a new session reads through the cache."""
    for route in (("items", "GET"), ("{item_id}", "GET")):
        method = _methods(templates["staging"])[route]
        assert "method.request.header.Authorization" in method["Integration"]["CacheKeyParameters"], route
        assert "method.request.header.Authorization" in method["RequestParameters"]


def test_waf_protects_the_stage_outside_dev(templates: dict[str, dict[str, Any]]) -> None:
    assert not resources_of(templates["dev"], "AWS::WAFv2::WebACL")
    for stage_id in ("staging", "prod-eu-west-1", "prod-eu-central-1"):
        template = templates[stage_id]
        _, acl = only_resource(template, "AWS::WAFv2::WebACL")
        assert acl["Properties"]["Scope"] == "REGIONAL"
        groups = [r["Statement"].get("ManagedRuleGroupStatement", {}).get("Name") for r in acl["Properties"]["Rules"]]
        assert {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"} <= set(groups)
        assert any("RateBasedStatement" in r["Statement"] for r in acl["Properties"]["Rules"])
        _, association = only_resource(template, "AWS::WAFv2::WebACLAssociation")
        assert "restapis" in json.dumps(association["Properties"]["ResourceArn"])


def test_waf_logs_to_an_encrypted_log_group_named_for_waf(templates: dict[str, dict[str, Any]]) -> None:
    template = templates["prod-eu-west-1"]
    _, logging = only_resource(template, "AWS::WAFv2::LoggingConfiguration")
    (destination,) = logging["Properties"]["LogDestinationConfigs"]
    assert destination["Fn::Join"][1][1] == {"Ref": "ApiWafLogsBA46EA93"}
    group = resource_with_prefix(template, "AWS::Logs::LogGroup", "ApiWafLogs")["Properties"]
    assert group["LogGroupName"] == "aws-waf-logs-items-prod"
    assert "KmsKeyId" in group


def test_cors_preflight_allows_only_the_environment_origins(templates: dict[str, dict[str, Any]]) -> None:
    for stage_id, origin in {"dev": "http://localhost:3000", "prod-eu-west-1": "https://app.example.com"}.items():
        options = [m for (_, verb), m in _methods(templates[stage_id]).items() if verb == "OPTIONS"]
        assert options
        for method in options:
            (response,) = method["Integration"]["IntegrationResponses"]
            assert response["ResponseParameters"]["method.response.header.Access-Control-Allow-Origin"] == f"'{origin}'"


def test_no_custom_domain_unless_configured(templates: dict[str, dict[str, Any]]) -> None:
    for template in templates.values():
        assert not resources_of(template, "AWS::ApiGateway::DomainName")


# --- operations --------------------------------------------------------------------------------


def test_alarms_cover_function_api_table_and_dead_letters(templates: dict[str, dict[str, Any]]) -> None:
    alarms = {
        k: v
        for k, v in resources_of(templates["prod-eu-west-1"], "AWS::CloudWatch::Alarm").items()
        if k.startswith("Operations")
    }
    names = {logical_id.removeprefix("Operations")[:-8] for logical_id in alarms}  # drop CDK's hash suffix
    assert names == {
        "FunctionErrors",
        "FunctionThrottles",
        "FunctionDurationP99",
        "Api5xxRate",
        "Api4xxRate",
        "ApiLatencyP99",
        "TableThrottles",
        "TableSystemErrors",
        "DeadLetters",
        "IngestWorkerErrors",
        "IngestDeadLetters",
        "IngestQueueAge",
        "ImportChunkFailures",
        "ImportDeadLetters",
        "ImportAge",
    }
    _, topic = only_resource(templates["prod-eu-west-1"], "AWS::SNS::Topic")
    assert "KmsMasterKeyId" in topic["Properties"]
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [
            {"Ref": next(iter(resources_of(templates["prod-eu-west-1"], "AWS::SNS::Topic")))}
        ]
        assert alarm["Properties"]["TreatMissingData"] == "notBreaching"


def test_alarm_thresholds_follow_the_environment(templates: dict[str, dict[str, Any]]) -> None:
    def duration_threshold(template: dict[str, Any]) -> float:
        return resource_with_prefix(template, "AWS::CloudWatch::Alarm", "OperationsFunctionDurationP99")["Properties"][
            "Threshold"
        ]

    assert [duration_threshold(templates[s]) for s in ("dev", "staging", "prod-eu-west-1")] == [3000, 2000, 1500]


def test_dashboard_shows_api_function_and_table(templates: dict[str, dict[str, Any]]) -> None:
    _, dashboard = only_resource(templates["staging"], "AWS::CloudWatch::Dashboard")
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for metric in (
        "Count",
        "Latency",
        "4XXError",
        "5XXError",
        "Invocations",
        "Errors",
        "Duration",
        "Throttles",
        "ConsumedReadCapacityUnits",
        "ConsumedWriteCapacityUnits",
        "ReadThrottleEvents",
    ):
        assert f'\\"{metric}\\"' in body, metric
    assert dashboard["Properties"]["DashboardName"] == "items-staging-eu-west-1"


def test_log_groups_are_encrypted_and_kept_per_environment(templates: dict[str, dict[str, Any]]) -> None:
    expected = {"dev": 14, "staging": 30, "prod-eu-west-1": 365, "prod-eu-central-1": 365}
    for stage_id, days in expected.items():
        groups = resources_of(templates[stage_id], "AWS::Logs::LogGroup")
        # function, worker, importer, API access, WAF (outside dev), the shared hooks and the synthetic traffic
        assert len(groups) == (7 if stage_id == "dev" else 8)
        for group in groups.values():
            assert group["Properties"]["RetentionInDays"] == days
            assert "KmsKeyId" in group["Properties"]


def test_outputs_name_what_operators_and_clients_need(templates: dict[str, dict[str, Any]]) -> None:
    assert set(templates["dev"]["Outputs"]) == {
        "ApiUrl",
        "UserPoolId",
        "UserPoolClientId",
        "ApiKeyId",
        "TableName",
        "IngestBucketName",
        "IngestDeadLetterQueueUrl",
        "ImportDeadLetterQueueUrl",
        "FunctionArn",
        "DashboardUrl",
        "AlarmTopicArn",
        "SmokeTestIdentitySecretArn",
    }


# --- protection --------------------------------------------------------------------------------


def test_prod_keeps_stateful_resources_and_protects_them(
    templates: dict[str, dict[str, Any]], synthesized: Synthesized
) -> None:
    for stage_id in ("prod-eu-west-1", "prod-eu-central-1"):
        template = templates[stage_id]
        for table in resources_of(template, "AWS::DynamoDB::GlobalTable").values():
            # Kept on update and delete; a failed first create leaves nothing behind to block the retry.
            assert table["DeletionPolicy"] == "RetainExceptOnCreate"
            assert table["UpdateReplacePolicy"] == "Retain"
            (replica,) = table["Properties"]["Replicas"]
            assert replica["DeletionProtectionEnabled"] is True
        _, pool = only_resource(template, "AWS::Cognito::UserPool")
        assert pool["DeletionPolicy"] == "RetainExceptOnCreate"
        assert pool["Properties"]["DeletionProtection"] == "ACTIVE"
        assert pool["Properties"]["MfaConfiguration"] == "ON"
        for resource_type in ("AWS::KMS::Key", "AWS::SecretsManager::Secret", "AWS::Logs::LogGroup", "AWS::S3::Bucket"):
            for resource in resources_of(template, resource_type).values():
                assert resource["DeletionPolicy"] == "RetainExceptOnCreate", resource_type
    for stage_id, stacks in synthesized.stage_assemblies():
        (stack,) = stacks.values()
        assert stack.termination_protection is (_env(stage_id) == "prod")


def test_dev_tears_down_cleanly(templates: dict[str, dict[str, Any]]) -> None:
    template = templates["dev"]
    retained = [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource.get("DeletionPolicy") not in (None, "Delete") and resource["Type"] != "AWS::Lambda::Version"
    ]
    # Except API Gateway's account-wide CloudWatch role, which dev sets for the account's later stages.
    assert sorted(r[:-8] for r in retained) == ["ApiRestApiAccount", "ApiRestApiCloudWatchRole"]
    for table in resources_of(template, "AWS::DynamoDB::GlobalTable").values():
        (replica,) = table["Properties"]["Replicas"]
        assert replica.get("DeletionProtectionEnabled") in (None, False)


def test_every_taggable_resource_carries_the_environment_tag(templates: dict[str, dict[str, Any]]) -> None:
    for stage_id, template in templates.items():
        for resource_type in ("AWS::Lambda::Function", "AWS::SQS::Queue", "AWS::KMS::Key", "AWS::SNS::Topic"):
            for resource in resources_of(template, resource_type).values():
                tags = {t["Key"]: t["Value"] for t in resource["Properties"]["Tags"]}
                assert tags["environment"] == _env(stage_id), resource_type
                assert tags["project"] == "serverless-python-delivery"


def test_the_lambda_asset_holds_runtime_code_only(synthesized: Synthesized) -> None:
    asset_dirs = [p for p in synthesized.outdir.rglob("asset.*") if p.is_dir()]
    assert asset_dirs
    for asset in asset_dirs:
        files = sorted(str(p.relative_to(asset)) for p in asset.rglob("*") if p.is_file())
        assert files
        assert all(f.endswith(".py") for f in files), files
        packages = {f.split("/")[0] for f in files}
        assert packages in ({"items_runtime"}, {"deploy_hooks"}), packages


def test_waf_logs_keep_no_credentials(templates: dict[str, dict[str, Any]]) -> None:
    for stage_id in ("staging", "prod-eu-west-1"):
        _, logging = only_resource(templates[stage_id], "AWS::WAFv2::LoggingConfiguration")
        redacted = {f["SingleHeader"]["Name"] for f in logging["Properties"]["RedactedFields"]}
        assert redacted == {"authorization", "x-api-key"}


def test_error_rate_alarms_need_enough_requests_to_mean_something(templates: dict[str, dict[str, Any]]) -> None:
    for name in ("OperationsApi5xxRate", "OperationsApi4xxRate"):
        alarm = resource_with_prefix(templates["dev"], "AWS::CloudWatch::Alarm", name)["Properties"]
        (expression,) = [m["Expression"] for m in alarm["Metrics"] if "Expression" in m]
        assert expression == "IF(requests >= 50, 100 * errors / requests, 0)"


def test_only_the_first_stage_of_an_account_and_region_sets_api_gateways_cloudwatch_role(
    topology_outdirs: dict[str, Path],
) -> None:
    owners = {
        path.parent.name: bool(resources_of(json.loads(path.read_text()), "AWS::ApiGateway::Account"))
        for path in topology_outdirs["one account"].glob("assembly-*/*.template.json")
    }
    assert owners == {
        "assembly-Pipeline-dev": True,  # eu-west-1 of the one account
        "assembly-Pipeline-staging": False,
        "assembly-Pipeline-prod-eu-west-1": False,
        "assembly-Pipeline-prod-eu-central-1": True,
    }

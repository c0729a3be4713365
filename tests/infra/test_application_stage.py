"""The application stage: the items slice in every environment, sized and protected per environment."""

import json
from typing import Any

import pytest

from services.items.powertools import POWERTOOLS_LAYER_VERSION
from tests.infra.conftest import Synthesized, only_resource, resources_of

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


def test_one_stage_assembly_per_environment_and_region(synthesized: Synthesized) -> None:
    assert sorted(stage_id for stage_id, _ in synthesized.stage_assemblies()) == sorted(STAGES)


def test_each_stage_deploys_to_its_configured_account_and_region(synthesized: Synthesized) -> None:
    for stage_id, stacks in synthesized.stage_assemblies():
        (stack,) = stacks.values()
        assert stack.account == ACCOUNTS[_env(stage_id)]
        assert stack.region == STAGES[stage_id]
        assert stack.stack_name == f"{_env(stage_id)}-items"


def test_function_runs_newest_python_on_arm_with_the_pinned_powertools_layer(
    templates: dict[str, dict[str, Any]],
) -> None:
    for stage_id, template in templates.items():
        _, function = only_resource(template, "AWS::Lambda::Function")
        properties = function["Properties"]
        assert properties["Runtime"] == "python3.14"
        assert properties["Architectures"] == ["arm64"]
        assert properties["Handler"] == "items_api.handler.lambda_handler"
        assert properties["TracingConfig"] == {"Mode": "Active"}
        (layer,) = properties["Layers"]
        assert layer == (
            f"arn:aws:lambda:{STAGES[stage_id]}:017000801446:layer:"
            f"AWSLambdaPowertoolsPythonV3-python314-arm64:{POWERTOOLS_LAYER_VERSION}"
        )


def test_function_environment_names_table_index_and_service(templates: dict[str, dict[str, Any]]) -> None:
    _, function = only_resource(templates["dev"], "AWS::Lambda::Function")
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables["LIST_INDEX_NAME"] == "gsi1"
    assert "Ref" in variables["TABLE_NAME"]
    assert variables["POWERTOOLS_SERVICE_NAME"] == "items"
    assert variables["CORS_ALLOWED_ORIGINS"] == "http://localhost:3000"


def test_function_memory_follows_the_environment(templates: dict[str, dict[str, Any]]) -> None:
    memory = {s: only_resource(t, "AWS::Lambda::Function")[1]["Properties"]["MemorySize"] for s, t in templates.items()}
    assert memory == {"dev": 256, "staging": 512, "prod-eu-west-1": 1024, "prod-eu-central-1": 1024}


def test_table_has_keys_list_index_stream_pitr_and_customer_key(templates: dict[str, dict[str, Any]]) -> None:
    _, table = only_resource(templates["staging"], "AWS::DynamoDB::GlobalTable")
    properties = table["Properties"]
    assert properties["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    (index,) = properties["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "gsi1"
    assert properties["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    (replica,) = properties["Replicas"]
    assert replica["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert properties["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
    assert "KMSMasterKeyId" in replica["SSESpecification"]


def test_table_capacity_follows_the_environment(templates: dict[str, dict[str, Any]]) -> None:
    expected = {"dev": 2, "staging": 5, "prod-eu-west-1": 10}
    for stage_id, capacity in expected.items():
        _, table = only_resource(templates[stage_id], "AWS::DynamoDB::GlobalTable")
        write = table["Properties"]["WriteProvisionedThroughputSettings"]["WriteCapacityAutoScalingSettings"]
        assert write["MinCapacity"] == capacity
        assert write["MaxCapacity"] == capacity * 10
        (replica,) = table["Properties"]["Replicas"]
        assert replica["ReadProvisionedThroughputSettings"]["ReadCapacityUnits"] == capacity


def test_function_may_only_put_get_and_query_the_list_index(templates: dict[str, dict[str, Any]]) -> None:
    _, policy = only_resource(templates["dev"], "AWS::IAM::Policy")
    dynamo_actions = sorted(
        action
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in (statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
        if action.startswith("dynamodb:")
    )
    assert dynamo_actions == ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"]
    query = next(s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Action"] == "dynamodb:Query")
    assert json.dumps(query["Resource"]).endswith('/index/gsi1"]]}')


def test_log_groups_are_encrypted_and_kept_per_environment(templates: dict[str, dict[str, Any]]) -> None:
    expected = {"dev": 14, "staging": 30, "prod-eu-west-1": 365, "prod-eu-central-1": 365}
    for stage_id, days in expected.items():
        groups = resources_of(templates[stage_id], "AWS::Logs::LogGroup")
        assert len(groups) == 2, "function logs and API access logs"
        for group in groups.values():
            assert group["Properties"]["RetentionInDays"] == days
            assert "KmsKeyId" in group["Properties"]


def test_every_key_rotates(templates: dict[str, dict[str, Any]]) -> None:
    for template in templates.values():
        for key in resources_of(template, "AWS::KMS::Key").values():
            assert key["Properties"]["EnableKeyRotation"] is True


def test_api_is_regional_traced_throttled_and_access_logged(templates: dict[str, dict[str, Any]]) -> None:
    _, api = only_resource(templates["dev"], "AWS::ApiGateway::RestApi")
    assert api["Properties"]["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    _, stage = only_resource(templates["dev"], "AWS::ApiGateway::Stage")
    properties = stage["Properties"]
    assert properties["TracingEnabled"] is True
    assert properties["StageName"] == "api"
    (settings,) = properties["MethodSettings"]
    assert settings["ThrottlingRateLimit"] == 100
    assert settings["ThrottlingBurstLimit"] == 200
    assert json.loads(properties["AccessLogSetting"]["Format"])["status"] == "$context.status"


def test_items_routes_require_cognito_and_health_does_not(templates: dict[str, dict[str, Any]]) -> None:
    template = templates["dev"]
    resources = {k: v["Properties"]["PathPart"] for k, v in resources_of(template, "AWS::ApiGateway::Resource").items()}
    routes = {}
    for method in resources_of(template, "AWS::ApiGateway::Method").values():
        properties = method["Properties"]
        if properties["HttpMethod"] == "OPTIONS":
            continue
        routes[(resources[properties["ResourceId"]["Ref"]], properties["HttpMethod"])] = properties["AuthorizationType"]
    assert routes == {
        ("health", "GET"): "NONE",
        ("items", "GET"): "COGNITO_USER_POOLS",
        ("items", "POST"): "COGNITO_USER_POOLS",
        ("{item_id}", "GET"): "COGNITO_USER_POOLS",
    }
    _, authorizer = only_resource(template, "AWS::ApiGateway::Authorizer")
    assert authorizer["Properties"]["Type"] == "COGNITO_USER_POOLS"


def test_cors_preflight_allows_only_the_environment_origins(templates: dict[str, dict[str, Any]]) -> None:
    for stage_id, origin in {"dev": "http://localhost:3000", "prod-eu-west-1": "https://app.example.com"}.items():
        options = [
            m["Properties"]
            for m in resources_of(templates[stage_id], "AWS::ApiGateway::Method").values()
            if m["Properties"]["HttpMethod"] == "OPTIONS"
        ]
        assert options
        for method in options:
            (response,) = method["Integration"]["IntegrationResponses"]
            assert response["ResponseParameters"]["method.response.header.Access-Control-Allow-Origin"] == f"'{origin}'"


def test_outputs_name_the_api_url_pool_table_and_function(templates: dict[str, dict[str, Any]]) -> None:
    assert set(templates["dev"]["Outputs"]) == {"ApiUrl", "UserPoolId", "UserPoolClientId", "TableName", "FunctionArn"}


def test_prod_keeps_stateful_resources_and_protects_them(
    templates: dict[str, dict[str, Any]], synthesized: Synthesized
) -> None:
    for stage_id in ("prod-eu-west-1", "prod-eu-central-1"):
        template = templates[stage_id]
        _, table = only_resource(template, "AWS::DynamoDB::GlobalTable")
        assert table["DeletionPolicy"] == "Retain"
        assert table["UpdateReplacePolicy"] == "Retain"
        (replica,) = table["Properties"]["Replicas"]
        assert replica["DeletionProtectionEnabled"] is True
        _, pool = only_resource(template, "AWS::Cognito::UserPool")
        assert pool["DeletionPolicy"] == "Retain"
        assert pool["Properties"]["DeletionProtection"] == "ACTIVE"
        for key in resources_of(template, "AWS::KMS::Key").values():
            assert key["DeletionPolicy"] == "Retain"
    for stage_id, stacks in synthesized.stage_assemblies():
        (stack,) = stacks.values()
        assert stack.termination_protection is (_env(stage_id) == "prod")


def test_dev_tears_down_cleanly(templates: dict[str, dict[str, Any]]) -> None:
    template = templates["dev"]
    for resource in template["Resources"].values():
        assert resource.get("DeletionPolicy") in (None, "Delete"), resource["Type"]
    _, table = only_resource(template, "AWS::DynamoDB::GlobalTable")
    (replica,) = table["Properties"]["Replicas"]
    assert replica.get("DeletionProtectionEnabled") in (None, False)


def test_every_resource_carries_the_environment_tag(templates: dict[str, dict[str, Any]]) -> None:
    for stage_id, template in templates.items():
        _, function = only_resource(template, "AWS::Lambda::Function")
        tags = {t["Key"]: t["Value"] for t in function["Properties"]["Tags"]}
        assert tags["environment"] == _env(stage_id)
        assert tags["project"] == "serverless-python-delivery"


def test_the_lambda_asset_holds_runtime_code_only(synthesized: Synthesized) -> None:
    asset_dirs = [p for p in synthesized.outdir.rglob("asset.*") if p.is_dir()]
    assert asset_dirs
    for asset in asset_dirs:
        files = sorted(str(p.relative_to(asset)) for p in asset.rglob("*") if p.is_file())
        assert files
        assert all(f.startswith("items_api/") and f.endswith(".py") for f in files), files

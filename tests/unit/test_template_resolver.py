"""Reading a cloud assembly and resolving CloudFormation intrinsics to the symbolic values policies are checked on."""

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from compliance.deployability.template import Assembly, Stack

ACCOUNT = "111111111111"
REGION = "eu-west-1"
A, R = ACCOUNT, REGION


def make_stack(resources: dict[str, Any] | None = None, **sections: Any) -> Stack:
    return Stack("test-stack", ACCOUNT, REGION, {"Resources": resources or {}, **sections})


def one(resource_type: str, properties: dict[str, Any] | None = None, logical_id: str = "Res") -> Stack:
    return make_stack({logical_id: {"Type": resource_type, "Properties": properties or {}}})


# --- Ref and GetAtt of resources, by type family ----------------------------------------------------------------


REFERENCES = [
    ("AWS::SQS::Queue", {}, "Ref", f"https://sqs.{R}.amazonaws.com/{A}/test-stack-Res"),
    ("AWS::SQS::Queue", {}, "Arn", f"arn:aws:sqs:{R}:{A}:test-stack-Res"),
    ("AWS::SQS::Queue", {"QueueName": "ingest"}, "QueueName", "ingest"),
    ("AWS::SQS::Queue", {"QueueName": "ingest"}, "Arn", f"arn:aws:sqs:{R}:{A}:ingest"),
    ("AWS::SNS::Topic", {}, "Ref", f"arn:aws:sns:{R}:{A}:test-stack-Res"),
    ("AWS::SNS::Topic", {"TopicName": "alarms"}, "TopicName", "alarms"),
    ("AWS::Lambda::Function", {}, "Ref", "test-stack-Res"),
    ("AWS::Lambda::Function", {"FunctionName": "items-api"}, "Arn", f"arn:aws:lambda:{R}:{A}:function:items-api"),
    ("AWS::IAM::Role", {}, "Ref", "test-stack-Res"),
    ("AWS::IAM::Role", {}, "Arn", f"arn:aws:iam::{A}:role/test-stack-Res"),
    ("AWS::IAM::Role", {"RoleName": "deployer", "Path": "/ci/"}, "Arn", f"arn:aws:iam::{A}:role/ci/deployer"),
    ("AWS::IAM::Group", {"GroupName": "ops"}, "Arn", f"arn:aws:iam::{A}:group/ops"),
    ("AWS::IAM::ManagedPolicy", {"ManagedPolicyName": "read"}, "Ref", f"arn:aws:iam::{A}:policy/read"),
    ("AWS::KMS::Key", {}, "Ref", "Res"),
    ("AWS::KMS::Key", {}, "Arn", f"arn:aws:kms:{R}:{A}:key/Res"),
    ("AWS::KMS::Alias", {"AliasName": "alias/items"}, "Ref", "alias/items"),
    ("AWS::S3::Bucket", {}, "Ref", "test-stack-res"),
    ("AWS::S3::Bucket", {}, "Arn", "arn:aws:s3:::test-stack-res"),
    ("AWS::S3::Bucket", {"BucketName": "items-staging"}, "Arn", "arn:aws:s3:::items-staging"),
    ("AWS::S3::Bucket", {}, "RegionalDomainName", f"test-stack-res.s3.{R}.amazonaws.com"),
    ("AWS::DynamoDB::Table", {}, "Ref", "test-stack-Res"),
    ("AWS::DynamoDB::Table", {"TableName": "items"}, "Arn", f"arn:aws:dynamodb:{R}:{A}:table/items"),
    ("AWS::DynamoDB::Table", {}, "StreamArn", f"arn:aws:dynamodb:{R}:{A}:table/test-stack-Res/stream/Res"),
    ("AWS::DynamoDB::GlobalTable", {}, "Arn", f"arn:aws:dynamodb:{R}:{A}:table/test-stack-Res"),
    ("AWS::DynamoDB::GlobalTable", {"TableName": "items"}, "Ref", "items"),
    ("AWS::CloudWatch::Alarm", {}, "Ref", "test-stack-Res"),
    ("AWS::CloudWatch::Alarm", {"AlarmName": "errors"}, "Arn", f"arn:aws:cloudwatch:{R}:{A}:alarm:errors"),
    ("AWS::CloudWatch::Dashboard", {"DashboardName": "ops"}, "Ref", "ops"),
    ("AWS::Events::Rule", {}, "Arn", f"arn:aws:events:{R}:{A}:rule/test-stack-Res"),
    ("AWS::Events::Rule", {"Name": "uploads"}, "Ref", "uploads"),
    ("AWS::SecretsManager::Secret", {}, "Ref", f"arn:aws:secretsmanager:{R}:{A}:secret:test-stack-Res-XXXXXX"),
    (
        "AWS::SecretsManager::Secret",
        {"Name": "pagination"},
        "Ref",
        f"arn:aws:secretsmanager:{R}:{A}:secret:pagination-XXXXXX",
    ),
    ("AWS::CodeBuild::Project", {"Name": "synth"}, "Ref", "synth"),
    ("AWS::CodeBuild::Project", {}, "Arn", f"arn:aws:codebuild:{R}:{A}:project/test-stack-Res"),
    ("AWS::CodeBuild::ReportGroup", {}, "Ref", f"arn:aws:codebuild:{R}:{A}:report-group/test-stack-Res"),
    ("AWS::CodeBuild::ReportGroup", {}, "Arn", f"arn:aws:codebuild:{R}:{A}:report-group/test-stack-Res"),
    ("AWS::CodePipeline::Pipeline", {"Name": "delivery"}, "Ref", "delivery"),
    ("AWS::CodeDeploy::Application", {}, "Ref", "test-stack-Res"),
    ("AWS::CodeDeploy::Application", {"ApplicationName": "items"}, "Ref", "items"),
    ("AWS::CodeDeploy::DeploymentGroup", {"DeploymentGroupName": "live"}, "Ref", "live"),
    ("AWS::Logs::LogGroup", {}, "Ref", "test-stack-Res"),
    (
        "AWS::Logs::LogGroup",
        {"LogGroupName": "/aws/lambda/items"},
        "Arn",
        f"arn:aws:logs:{R}:{A}:log-group:/aws/lambda/items:*",
    ),
    ("AWS::ApiGateway::RestApi", {"Name": "items"}, "Ref", "Res"),
    ("AWS::ApiGateway::RestApi", {}, "RootResourceId", "Res-root"),
    ("AWS::ApiGateway::Stage", {"StageName": "api"}, "Ref", "api"),
    (
        "AWS::WAFv2::WebACL",
        {"Name": "items", "Scope": "REGIONAL"},
        "Arn",
        f"arn:aws:wafv2:{R}:{A}:regional/webacl/items/Res",
    ),
    (
        "AWS::WAFv2::WebACL",
        {"Name": "edge", "Scope": "CLOUDFRONT"},
        "Arn",
        f"arn:aws:wafv2:{R}:{A}:global/webacl/edge/Res",
    ),
    ("AWS::Cognito::UserPool", {}, "Ref", f"{R}_Res"),
    ("AWS::Cognito::UserPool", {}, "Arn", f"arn:aws:cognito-idp:{R}:{A}:userpool/{R}_Res"),
    ("AWS::ApiGateway::ApiKey", {}, "Ref", "AWS::ApiGateway::ApiKey:Res:Ref"),
    ("AWS::SQS::Queue", {}, "NoSuchAttribute", "AWS::SQS::Queue:Res:NoSuchAttribute"),
]


@pytest.mark.parametrize(
    ("resource_type", "properties", "attribute", "expected"),
    REFERENCES,
    ids=[f"{t.removeprefix('AWS::')}.{attr}{'.named' if props else ''}" for t, props, attr, _ in REFERENCES],
)
def test_resource_reference(resource_type: str, properties: dict[str, Any], attribute: str, expected: str) -> None:
    stack = one(resource_type, properties)
    reference = {"Ref": "Res"} if attribute == "Ref" else {"Fn::GetAtt": ["Res", attribute]}
    assert stack.resolve(reference) == expected


def test_explicit_name_property_is_itself_resolved() -> None:
    stack = one("AWS::SQS::Queue", {"QueueName": {"Fn::Sub": "${AWS::StackName}-ingest"}})
    assert stack.resolve({"Fn::GetAtt": ["Res", "Arn"]}) == f"arn:aws:sqs:{R}:{A}:test-stack-ingest"


def test_unnamed_resources_of_two_stacks_get_different_names() -> None:
    template = {
        "Resources": {
            "Queue": {"Type": "AWS::SQS::Queue"},
            "Bucket": {"Type": "AWS::S3::Bucket"},
            "Named": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "ingest"}},
        }
    }
    dev, prod = (Stack(name, ACCOUNT, REGION, template) for name in ("ItemsDev", "ItemsProd"))

    def arn(stack: Stack, logical_id: str) -> Any:
        return stack.resolve({"Fn::GetAtt": [logical_id, "Arn"]})

    assert arn(dev, "Queue") == f"arn:aws:sqs:{R}:{A}:ItemsDev-Queue"
    assert arn(prod, "Queue") == f"arn:aws:sqs:{R}:{A}:ItemsProd-Queue"
    assert arn(dev, "Queue") != arn(prod, "Queue")
    # a generated bucket name is lower-cased as a whole, stack name included
    assert arn(dev, "Bucket") == "arn:aws:s3:::itemsdev-bucket"
    assert arn(prod, "Bucket") == "arn:aws:s3:::itemsprod-bucket"
    # an explicit name is the same in both stacks
    assert arn(dev, "Named") == arn(prod, "Named") == f"arn:aws:sqs:{R}:{A}:ingest"


LAMBDA = {
    "Fn": {"Type": "AWS::Lambda::Function", "Properties": {}},
    "Named": {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "items-api"}},
    "Version": {"Type": "AWS::Lambda::Version", "Properties": {"FunctionName": {"Ref": "Fn"}}},
    "Live": {
        "Type": "AWS::Lambda::Alias",
        "Properties": {
            "FunctionName": {"Ref": "Fn"},
            "FunctionVersion": {"Fn::GetAtt": ["Version", "Version"]},
            "Name": "live",
        },
    },
    "NamedLive": {
        "Type": "AWS::Lambda::Alias",
        "Properties": {"FunctionName": {"Fn::GetAtt": ["Named", "Arn"]}, "Name": "live"},
    },
}


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ({"Ref": "Live"}, f"arn:aws:lambda:{R}:{A}:function:test-stack-Fn:live"),
        ({"Ref": "NamedLive"}, f"arn:aws:lambda:{R}:{A}:function:items-api:live"),
        ({"Ref": "Version"}, f"arn:aws:lambda:{R}:{A}:function:test-stack-Fn:Version"),
        ({"Fn::GetAtt": ["Version", "Version"]}, "Version"),
        ({"Fn::Select": [6, {"Fn::Split": [":", {"Ref": "Live"}]}]}, "test-stack-Fn"),
    ],
    ids=["alias_arn", "alias_of_a_function_given_by_arn", "version_arn", "version_number", "function_name_from_alias"],
)
def test_lambda_alias_and_version(reference: dict[str, Any], expected: str) -> None:
    assert make_stack(LAMBDA).resolve(reference) == expected


def test_reference_to_a_missing_resource_is_an_error() -> None:
    with pytest.raises(ValueError, match="no resource 'Missing'"):
        make_stack().resolve({"Fn::GetAtt": ["Missing", "Arn"]})


def test_get_att_string_form() -> None:
    assert one("AWS::SQS::Queue").resolve({"Fn::GetAtt": "Res.Arn"}) == f"arn:aws:sqs:{R}:{A}:test-stack-Res"


# --- pseudo parameters and parameters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("AWS::AccountId", ACCOUNT),
        ("AWS::Region", REGION),
        ("AWS::Partition", "aws"),
        ("AWS::URLSuffix", "amazonaws.com"),
        ("AWS::StackName", "test-stack"),
    ],
)
def test_pseudo_parameter(name: str, expected: str) -> None:
    assert make_stack().resolve({"Ref": name}) == expected


def test_no_value_drops_the_key_and_the_list_item() -> None:
    value = {"Keep": "x", "Drop": {"Ref": "AWS::NoValue"}, "List": ["a", {"Ref": "AWS::NoValue"}, "b"]}
    assert make_stack().resolve(value) == {"Keep": "x", "List": ["a", "b"]}


def test_no_value_on_its_own_resolves_to_none() -> None:
    assert make_stack().resolve({"Ref": "AWS::NoValue"}) is None


def test_parameter_resolves_to_its_default() -> None:
    stack = make_stack(
        Parameters={
            "BootstrapVersion": {
                "Type": "AWS::SSM::Parameter::Value<String>",
                "Default": "/cdk-bootstrap/hnb659fds/version",
            }
        }
    )
    assert stack.resolve({"Ref": "BootstrapVersion"}) == "/cdk-bootstrap/hnb659fds/version"


def test_parameter_without_default_is_symbolic() -> None:
    assert make_stack(Parameters={"Stage": {"Type": "String"}}).resolve({"Ref": "Stage"}) == "Parameter:Stage"


# --- intrinsic functions --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::", {"Ref": "Res"}, "/*"]]},
            "arn:aws:s3:::test-stack-res/*",
        ),
        ({"Fn::Join": [",", {"Fn::Split": ["/", "a/b/c"]}]}, "a,b,c"),
        ({"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:x"}, f"arn:aws:sqs:{R}:{A}:x"),
        ({"Fn::Sub": "${Res.Arn}/*"}, "arn:aws:s3:::test-stack-res/*"),
        ({"Fn::Sub": "bucket ${Res}"}, "bucket test-stack-res"),
        ({"Fn::Sub": "${!Literal} stays"}, "${Literal} stays"),
        ({"Fn::Sub": ["${Name}-${Suffix}", {"Name": {"Ref": "Res"}, "Suffix": "logs"}]}, "test-stack-res-logs"),
        ({"Fn::Select": [1, ["a", "b", "c"]]}, "b"),
        ({"Fn::Select": ["0", {"Fn::Split": [":", "x:y"]}]}, "x"),
        ({"Fn::Split": ["|", "a|b"]}, ["a", "b"]),
        ({"Fn::GetAZs": ""}, [f"{R}a", f"{R}b", f"{R}c"]),
        ({"Fn::GetAZs": {"Ref": "AWS::Region"}}, [f"{R}a", f"{R}b", f"{R}c"]),
        ({"Fn::Base64": {"Fn::Sub": "${AWS::Region}"}}, base64.b64encode(REGION.encode()).decode()),
        ({"Fn::FindInMap": ["Sizes", {"Ref": "AWS::Region"}, "Memory"]}, "512"),
        ({"Fn::ToJsonString": {"bucket": {"Ref": "Res"}}}, '{"bucket":"test-stack-res"}'),
    ],
    ids=[
        "join",
        "join_over_split",
        "sub_pseudo_parameters",
        "sub_get_att",
        "sub_ref",
        "sub_escaped_literal",
        "sub_with_variables",
        "select",
        "select_string_index",
        "split",
        "get_azs_current_region",
        "get_azs_named_region",
        "base64",
        "find_in_map",
        "to_json_string",
    ],
)
def test_intrinsic(value: dict[str, Any], expected: Any) -> None:
    stack = make_stack({"Res": {"Type": "AWS::S3::Bucket"}}, Mappings={"Sizes": {REGION: {"Memory": "512"}}})
    assert stack.resolve(value) == expected


def test_unsupported_intrinsic_is_an_error() -> None:
    with pytest.raises(ValueError, match="unsupported intrinsic Fn::Cidr"):
        make_stack().resolve({"Fn::Cidr": ["10.0.0.0/16", 4, 8]})


def test_resolve_str_rejects_a_list() -> None:
    with pytest.raises(ValueError, match="does not resolve to a string"):
        make_stack().resolve_str({"Fn::Split": [",", "a,b"]})


CONDITIONS = {
    "InDevRegion": {"Fn::Equals": [{"Ref": "AWS::Region"}, REGION]},
    "InOtherRegion": {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]},
    "NotOther": {"Fn::Not": [{"Condition": "InOtherRegion"}]},
    "Both": {"Fn::And": [{"Condition": "InDevRegion"}, {"Condition": "NotOther"}]},
    "Either": {"Fn::Or": [{"Condition": "InOtherRegion"}, {"Fn::Equals": ["a", "a"]}]},
    "Neither": {"Fn::Or": [{"Condition": "InOtherRegion"}, {"Fn::Equals": ["a", "b"]}]},
}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("InDevRegion", "yes"),
        ("InOtherRegion", "no"),
        ("NotOther", "yes"),
        ("Both", "yes"),
        ("Either", "yes"),
        ("Neither", "no"),
    ],
    ids=["equals_true", "equals_false", "not", "and_over_conditions", "or_with_inline_equals", "or_all_false"],
)
def test_if_evaluates_the_condition(condition: str, expected: str) -> None:
    stack = make_stack(Conditions=CONDITIONS)
    assert stack.resolve({"Fn::If": [condition, "yes", "no"]}) == expected


def test_if_choosing_no_value_drops_the_key() -> None:
    stack = make_stack(Conditions=CONDITIONS)
    value = {"KmsKey": {"Fn::If": ["InOtherRegion", "key", {"Ref": "AWS::NoValue"}]}, "Name": "x"}
    assert stack.resolve(value) == {"Name": "x"}


def test_import_value_without_an_exporting_stack_is_symbolic() -> None:
    assert make_stack().resolve({"Fn::ImportValue": "shared-topic-arn"}) == "ImportValue:shared-topic-arn"


def test_import_value_resolves_through_another_stacks_export() -> None:
    assembly = Assembly()
    exporter = Stack(
        "shared",
        ACCOUNT,
        REGION,
        {
            "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {
                "TopicArn": {"Value": {"Ref": "Topic"}, "Export": {"Name": {"Fn::Sub": "${AWS::StackName}-topic"}}}
            },
        },
        assembly=assembly,
    )
    importer = Stack("app", ACCOUNT, REGION, {"Resources": {}}, assembly=assembly)
    assembly.stacks += [exporter, importer]
    assert importer.resolve({"Fn::ImportValue": "shared-topic"}) == f"arn:aws:sns:{R}:{A}:shared-Topic"


# --- stack queries ---------------------------------------------------------------------------------------------------

QUERIED = {
    "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "alarms"}},
    "TopicPolicy": {"Type": "AWS::SNS::TopicPolicy", "Properties": {"Topics": [{"Ref": "Topic"}]}},
    "Queue": {"Type": "AWS::SQS::Queue"},
    "Fn": {"Type": "AWS::Lambda::Function"},
}


def test_resources_of_type_and_resource_lookup() -> None:
    stack = make_stack(QUERIED)
    assert list(stack.resources_of_type("AWS::SNS::Topic")) == ["Topic"]
    assert stack.resource("Queue")["Type"] == "AWS::SQS::Queue"
    assert stack.logical_ids == ["Topic", "TopicPolicy", "Queue", "Fn"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f"arn:aws:sns:{R}:{A}:alarms", "Topic"),
        (f"arn:aws:sqs:{R}:{A}:test-stack-Queue", "Queue"),
        (f"arn:aws:sqs:{R}:{A}:Queue", None),
        (f"https://sqs.{R}.amazonaws.com/{A}/test-stack-Queue", "Queue"),
        ("test-stack-Fn", "Fn"),
        (f"arn:aws:lambda:{R}:{A}:function:test-stack-Fn", "Fn"),
        (f"arn:aws:sns:{R}:{A}:other", None),
    ],
    ids=[
        "topic_arn",
        "queue_arn",
        "queue_arn_without_stack_name",
        "queue_url",
        "function_name",
        "function_arn",
        "unknown",
    ],
)
def test_logical_id_of(value: str, expected: str | None) -> None:
    assert make_stack(QUERIED).logical_id_of(value) == expected


# --- the cloud assembly -----------------------------------------------------------------------------------------------


def write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))


def test_assembly_loads_stacks_and_nested_assemblies(tmp_path: Path) -> None:
    write_json(
        tmp_path / "manifest.json",
        {
            "version": "55.0.0",
            "artifacts": {
                "Pipeline": {
                    "type": "aws:cloudformation:stack",
                    "environment": f"aws://{ACCOUNT}/{REGION}",
                    "properties": {"templateFile": "Pipeline.template.json", "stackName": "delivery-pipeline"},
                },
                "Pipeline.assets": {"type": "cdk:asset-manifest", "properties": {"file": "Pipeline.assets.json"}},
                "assembly-Pipeline-prod": {
                    "type": "cdk:cloud-assembly",
                    "properties": {"directoryName": "assembly-Pipeline-prod", "displayName": "Pipeline/prod"},
                },
            },
        },
    )
    write_json(
        tmp_path / "Pipeline.template.json",
        {
            "Resources": {"Alarms": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {"Arn": {"Value": {"Ref": "Alarms"}, "Export": {"Name": "pipeline-alarms"}}},
        },
    )
    write_json(
        tmp_path / "assembly-Pipeline-prod" / "manifest.json",
        {
            "artifacts": {
                "ProdItems": {
                    "type": "aws:cloudformation:stack",
                    "environment": "aws://333333333333/eu-central-1",
                    "properties": {"templateFile": "ProdItems.template.json"},
                }
            }
        },
    )
    write_json(
        tmp_path / "assembly-Pipeline-prod" / "ProdItems.template.json",
        {
            "Resources": {
                "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"Tag": {"Fn::ImportValue": "pipeline-alarms"}}}
            }
        },
    )

    assembly = Assembly.load(tmp_path)

    assert [(s.name, s.account, s.region) for s in assembly] == [
        ("delivery-pipeline", ACCOUNT, REGION),
        ("ProdItems", "333333333333", "eu-central-1"),
    ]
    prod = assembly.stack("ProdItems", region="eu-central-1")
    assert prod.resolve({"Fn::GetAtt": ["Queue", "Arn"]}) == "arn:aws:sqs:eu-central-1:333333333333:ProdItems-Queue"
    assert prod.resolve(prod.resource("Queue")["Properties"]) == {
        "Tag": f"arn:aws:sns:{R}:{A}:delivery-pipeline-Alarms"
    }
    assert assembly.stack("Pipeline") is assembly.stack("delivery-pipeline")
    with pytest.raises(KeyError, match="0 stacks match"):
        assembly.stack("missing")

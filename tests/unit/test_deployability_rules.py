"""The edge rules on small templates: each finds the call or the wiring fault a first deployment would hit."""

from typing import Any

from compliance.deployability.edges import Findings, check
from compliance.deployability.limits import excesses
from compliance.deployability.template import Stack
from compliance.deployability.world import World

ACCOUNT, REGION = "111111111111", "eu-west-1"
TLS_ONLY = {
    "Effect": "Deny",
    "Principal": {"AWS": "*"},
    "Action": "sns:*",
    "Resource": {"Ref": "Topic"},
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


def _check(resources: dict[str, Any]) -> Findings:
    stack = Stack("app", ACCOUNT, REGION, {"Resources": resources})
    findings, _ = check(World([stack], ACCOUNT))
    return findings


def _alarm(actions: list[Any]) -> dict[str, Any]:
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": {"AlarmActions": actions}}


def _topic_policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "AWS::SNS::TopicPolicy",
        "Properties": {"Topics": [{"Ref": "Topic"}], "PolicyDocument": {"Statement": list(statements)}},
    }


def test_an_alarm_cannot_publish_to_a_topic_whose_policy_holds_only_the_tls_deny() -> None:
    findings = _check(
        {
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {}},
            "Policy": _topic_policy(TLS_ONLY),
            "Alarm": _alarm([{"Ref": "Topic"}]),
        }
    )
    ((call, decision),) = findings.denied()
    assert call.edge == "alarm -> topic"
    assert "no resource policy statement allows the service principal" in decision.reasons[-1]


def test_an_alarm_may_publish_when_the_topic_allows_cloudwatch_for_that_alarm() -> None:
    allow = {
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": "sns:Publish",
        "Resource": {"Ref": "Topic"},
        "Condition": {
            "StringEquals": {"aws:SourceAccount": ACCOUNT},
            "ArnEquals": {"aws:SourceArn": [{"Fn::GetAtt": ["Alarm", "Arn"]}]},
        },
    }
    findings = _check(
        {
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {}},
            "Policy": _topic_policy(TLS_ONLY, allow),
            "Alarm": _alarm([{"Ref": "Topic"}]),
            "OtherAlarm": _alarm([{"Ref": "Topic"}]),
        }
    )
    denied = findings.denied()
    assert [call.where.split()[-1] for call, _ in denied] == ["OtherAlarm"], "scoped to the listed alarm"


def test_a_topic_without_a_policy_keeps_snss_default_one() -> None:
    findings = _check({"Topic": {"Type": "AWS::SNS::Topic", "Properties": {}}, "Alarm": _alarm([{"Ref": "Topic"}])})
    assert findings.calls
    assert findings.denied() == []


def test_an_alarm_topic_encrypted_with_the_aws_managed_key_is_a_problem() -> None:
    findings = _check(
        {
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"KmsMasterKeyId": "alias/aws/sns"}},
            "Alarm": _alarm([{"Ref": "Topic"}]),
        }
    )
    assert any("cannot use the AWS managed key alias/aws/sns" in p.message for p in findings.problems)


def test_an_alarm_action_of_an_unknown_kind_is_reported_not_skipped() -> None:
    findings = _check({"Alarm": _alarm(["arn:aws:automate:eu-west-1:ec2:stop"])})
    assert [p.edge for p in findings.problems] == ["alarm -> ?"]


def _function(timeout: int = 60) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {"Role": {"Fn::GetAtt": ["Role", "Arn"]}, "Timeout": timeout},
    }


ROLE = {
    "Type": "AWS::IAM::Role",
    "Properties": {
        "AssumeRolePolicyDocument": {
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ]
        }
    },
}


def test_a_queue_whose_visibility_timeout_is_shorter_than_the_function_timeout_is_a_problem() -> None:
    findings = _check(
        {
            "Role": ROLE,
            "Fn": _function(timeout=60),
            "Version": {"Type": "AWS::Lambda::Version", "Properties": {"FunctionName": {"Ref": "Fn"}}},
            "Live": {
                "Type": "AWS::Lambda::Alias",
                "Properties": {
                    "FunctionName": {"Ref": "Fn"},
                    "FunctionVersion": {"Fn::GetAtt": ["Version", "Version"]},
                    "Name": "live",
                },
            },
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 30}},
            "Mapping": {
                "Type": "AWS::Lambda::EventSourceMapping",
                "Properties": {"FunctionName": {"Ref": "Live"}, "EventSourceArn": {"Fn::GetAtt": ["Queue", "Arn"]}},
            },
        }
    )
    assert any(
        "visibility timeout 30s is shorter than the function timeout 60s" in p.message for p in findings.problems
    )
    denied = {call.request.action for call, _ in findings.denied()}
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"} <= denied, "the role grants nothing"


def test_an_event_source_on_the_unqualified_function_is_a_problem() -> None:
    findings = _check(
        {
            "Role": ROLE,
            "Fn": _function(),
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 360}},
            "Mapping": {
                "Type": "AWS::Lambda::EventSourceMapping",
                "Properties": {"FunctionName": {"Ref": "Fn"}, "EventSourceArn": {"Fn::GetAtt": ["Queue", "Arn"]}},
            },
        }
    )
    assert any("not the function's live alias" in p.message for p in findings.problems)


def _sender(statements: list[dict[str, Any]]) -> dict[str, Any]:
    """A function given a KMS-encrypted queue's URL, whose role holds these statements."""
    return {
        "Role": ROLE,
        "Policy": {
            "Type": "AWS::IAM::Policy",
            "Properties": {"Roles": [{"Ref": "Role"}], "PolicyDocument": {"Statement": statements}},
        },
        "Key": {
            "Type": "AWS::KMS::Key",
            "Properties": {
                "KeyPolicy": {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                            "Action": "kms:*",
                            "Resource": "*",
                        }
                    ]
                }
            },
        },
        "Chunks": {"Type": "AWS::SQS::Queue", "Properties": {"KmsMasterKeyId": {"Fn::GetAtt": ["Key", "Arn"]}}},
        "Fn": {
            **_function(),
            "Properties": {
                **_function()["Properties"],
                "Environment": {"Variables": {"IMPORT_QUEUE_URL": {"Ref": "Chunks"}}},
            },
        },
    }


def test_a_function_given_a_queue_url_must_be_allowed_to_send_to_it_and_use_its_key() -> None:
    send = {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": {"Fn::GetAtt": ["Chunks", "Arn"]}}
    findings = _check(_sender([send]))
    denied = sorted(call.request.action for call, _ in findings.denied() if call.edge == "function -> queue")
    # SQS encrypts each message with a data key of the queue's key, under the sender's identity.
    assert denied == ["kms:Decrypt", "kms:GenerateDataKey"]


def test_a_function_allowed_to_send_and_to_use_the_key_may_send() -> None:
    send = {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": {"Fn::GetAtt": ["Chunks", "Arn"]}}
    key = {
        "Effect": "Allow",
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": {"Fn::GetAtt": ["Key", "Arn"]},
    }
    findings = _check(_sender([send, key]))
    sends = [call for call in findings.calls if call.edge == "function -> queue"]
    assert [call.request.action for call in sends] == ["sqs:SendMessage", "kms:GenerateDataKey", "kms:Decrypt"]
    assert [call for call, _ in findings.denied() if call.edge == "function -> queue"] == []


def test_access_logs_into_a_kms_encrypted_bucket_are_a_problem() -> None:
    findings = _check(
        {
            "Logs": {
                "Type": "AWS::S3::Bucket",
                "Properties": {
                    "BucketEncryption": {
                        "ServerSideEncryptionConfiguration": [
                            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}
                        ]
                    }
                },
            },
            "Data": {
                "Type": "AWS::S3::Bucket",
                "Properties": {"LoggingConfiguration": {"DestinationBucketName": {"Ref": "Logs"}}},
            },
        }
    )
    assert any("must use S3-managed keys" in p.message for p in findings.problems)
    ((call, _),) = findings.denied()
    assert call.request.principal.service == "logging.s3.amazonaws.com", "no bucket policy lets S3 write the logs"


def test_a_bucket_whose_events_nobody_watches_is_a_problem() -> None:
    bucket = {"NotificationConfiguration": {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}}
    findings = _check({"Uploads": {"Type": "AWS::S3::Bucket", "Properties": bucket}})
    assert [p.message for p in findings.problems] == ["sends events to EventBridge but no rule watches it"]


def test_a_function_environment_over_four_kilobytes_exceeds_lambdas_limit() -> None:
    variables = {f"TARGET_{n}": {"Fn::GetAtt": ["Fn", "Arn"]} for n in range(30)}
    stack = Stack(
        "app",
        ACCOUNT,
        REGION,
        {
            "Resources": {
                "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Environment": {"Variables": variables}}}
            }
        },
    )
    (excess,) = excesses(stack)
    assert excess.limit.maximum == 4096
    assert "over the 4096 of Lambda quotas" in excess.describe()


def test_more_than_ten_alarms_on_a_deployment_group_exceed_codedeploys_limit() -> None:
    alarms = [{"Name": f"alarm-{n}"} for n in range(11)]
    group = {"Type": "AWS::CodeDeploy::DeploymentGroup", "Properties": {"AlarmConfiguration": {"Alarms": alarms}}}
    stack = Stack("app", ACCOUNT, REGION, {"Resources": {"Group": group}})
    assert [e.limit.what for e in excesses(stack)] == ["alarms of a deployment group"]


# --- a pipeline that deploys a stage of another account and reads what its outputs name --------------------

STAGE_ACCOUNT = "222222222222"
READER = f"arn:aws:iam::{ACCOUNT}:role/reader"


def _pipeline_reading(output: str) -> Stack:
    """A pipeline that deploys `stage-app` and then runs a build whose variable carries the stack's `output`."""
    deploy_role = f"arn:aws:iam::{STAGE_ACCOUNT}:role/cdk-hnb659fds-deploy-role-{STAGE_ACCOUNT}-{REGION}"
    execution_role = f"arn:aws:iam::{STAGE_ACCOUNT}:role/cdk-hnb659fds-cfn-exec-role-{STAGE_ACCOUNT}-{REGION}"
    deploy = {
        "Name": "Deploy",
        "ActionTypeId": {"Provider": "CloudFormation"},
        "Namespace": "Stage",
        "RoleArn": deploy_role,
        "Configuration": {"StackName": "stage-app", "RoleArn": execution_role},
    }
    build = {
        "Name": "Read",
        "ActionTypeId": {"Provider": "CodeBuild"},
        "Configuration": {
            "ProjectName": {"Ref": "Project"},
            "EnvironmentVariables": f'[{{"name": "VALUE", "value": "#{{Stage.{output}}}"}}]',
        },
    }
    trust = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "*"}]}
    read = {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "kms:Decrypt"], "Resource": "*"}
    resources = {
        "Pipeline": {
            "Type": "AWS::CodePipeline::Pipeline",
            "Properties": {
                "ArtifactStore": {"Type": "S3", "Location": "artifacts"},
                "RoleArn": {"Fn::GetAtt": ["Reader", "Arn"]},
                "Stages": [{"Name": "s", "Actions": [deploy, build]}],
            },
        },
        "Project": {
            "Type": "AWS::CodeBuild::Project",
            "Properties": {"ServiceRole": {"Fn::GetAtt": ["Reader", "Arn"]}},
        },
        "Reader": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "reader", "AssumeRolePolicyDocument": trust}},
        "ReaderPolicy": {
            "Type": "AWS::IAM::Policy",
            "Properties": {"PolicyName": "p", "Roles": [{"Ref": "Reader"}], "PolicyDocument": {"Statement": [read]}},
        },
    }
    return Stack("pipeline", ACCOUNT, REGION, {"Resources": resources})


def _stage(*, admit_reader: bool, api_key_from: Any = None) -> Stack:
    root = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{STAGE_ACCOUNT}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    reader = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "*",
        "Resource": "*",
        "Condition": {"ArnEquals": {"aws:PrincipalArn": READER}},
    }
    admitted = [reader] if admit_reader else []
    resources = {
        "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Statement": [root, *admitted]}}},
        "Secret": {"Type": "AWS::SecretsManager::Secret", "Properties": {"KmsKeyId": {"Fn::GetAtt": ["Key", "Arn"]}}},
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "Key2": {
            "Type": "AWS::ApiGateway::ApiKey",
            "Properties": {
                "Value": {
                    "Fn::Join": [
                        "",
                        ["{{resolve:secretsmanager:", api_key_from or {"Ref": "Secret"}, ":SecretString:k::}}"],
                    ]
                }
            },
        },
    }
    if admit_reader:
        resources["SecretPolicy"] = {
            "Type": "AWS::SecretsManager::ResourcePolicy",
            "Properties": {"SecretId": {"Ref": "Secret"}, "ResourcePolicy": {"Statement": admitted}},
        }
    outputs = {"SecretArn": {"Value": {"Ref": "Secret"}}, "QueueUrl": {"Value": {"Ref": "Queue"}}}
    return Stack("stage-app", STAGE_ACCOUNT, REGION, {"Resources": resources, "Outputs": outputs})


def _edge(stacks: list[Stack], edge: str) -> tuple[list[tuple[str, bool]], list[str]]:
    findings, _ = check(World(stacks, ACCOUNT))
    calls = [(c.request.action, bool(c.decision())) for c in findings.calls if c.edge == edge]
    return calls, [p.message for p in findings.problems if p.edge == edge]


def test_a_build_reads_a_secret_of_another_account_only_where_its_policy_and_its_keys_admit_the_role() -> None:
    admitted, _ = _edge([_pipeline_reading("SecretArn"), _stage(admit_reader=True)], "build -> stage secret")
    assert admitted == [("secretsmanager:GetSecretValue", True), ("kms:Decrypt", True)]
    refused, _ = _edge([_pipeline_reading("SecretArn"), _stage(admit_reader=False)], "build -> stage secret")
    assert refused == [("secretsmanager:GetSecretValue", False), ("kms:Decrypt", False)]


def test_a_build_reading_a_resource_of_a_kind_no_rule_knows_is_reported_not_skipped() -> None:
    _, problems = _edge([_pipeline_reading("QueueUrl"), _stage(admit_reader=True)], "build -> stage secret")
    assert problems == [
        f"no check for a build reading AWS::SQS::Queue https://sqs.{REGION}.amazonaws.com/{STAGE_ACCOUNT}/stage-app-Queue"
    ]


def test_cloudformation_reads_the_secrets_a_template_resolves_as_the_execution_role() -> None:
    calls, problems = _edge(
        [_pipeline_reading("SecretArn"), _stage(admit_reader=False)], "CloudFormation -> dynamic reference"
    )
    # The bootstrap stack's execution role (AdministratorAccess), the key's policy delegating to the account.
    assert (calls, problems) == ([("secretsmanager:GetSecretValue", True), ("kms:Decrypt", True)], [])


def test_a_dynamic_reference_to_a_secret_outside_the_template_is_a_problem() -> None:
    stage = _stage(admit_reader=False, api_key_from="made-by-hand")
    _, problems = _edge([_pipeline_reading("SecretArn"), stage], "CloudFormation -> dynamic reference")
    assert problems == ["stage-app resolves secret made-by-hand, which is not in its template"]

"""Template assertions for the ingest path (row A1): the staging bucket, its EventBridge notifications,
the upload rule, queue and dead-letter queue, the worker's event source, permissions, alarms and
progressive delivery."""

import json
from typing import Any

import pytest

from services.items.probe import HEALTHY_WORKER_RESPONSE, ingest_probe_event
from tests.synth_fixtures import Synthesized, rendered, resource_with_prefix, resources_of

STAGES = ("dev", "staging", "prod-eu-west-1", "prod-eu-central-1")


@pytest.fixture(scope="module")
def templates(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    return {stage_id: synthesized.stage_template(stage_id) for stage_id in STAGES}


def _bucket(template: dict[str, Any]) -> dict[str, Any]:
    return resource_with_prefix(template, "AWS::S3::Bucket", "IngestStagingBucket")


def _logical_id(template: dict[str, Any], resource_type: str, prefix: str) -> str:
    (logical_id,) = [k for k in resources_of(template, resource_type) if k.startswith(prefix)]
    return logical_id


def _statements_of_role(template: dict[str, Any], role_prefix: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in resources_of(template, "AWS::IAM::Policy").values()
        if any(r.get("Ref", "").startswith(role_prefix) for r in policy["Properties"]["Roles"])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_the_staging_bucket_is_private_encrypted_versioned_and_logged(templates: dict[str, dict[str, Any]]) -> None:
    template = templates["staging"]
    bucket = _bucket(template)["Properties"]
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]["Fn::GetAtt"][0].startswith("Key")
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert bucket["LoggingConfiguration"]["DestinationBucketName"]["Ref"].startswith("IngestAccessLogs")
    policy = resource_with_prefix(template, "AWS::S3::BucketPolicy", "IngestStagingBucketPolicy")["Properties"]
    denies = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denies)


def test_uploads_expire_per_environment_and_old_versions_go_after_a_day(templates: dict[str, dict[str, Any]]) -> None:
    expected = {"dev": 7, "staging": 14, "prod-eu-west-1": 30}
    for stage_id, days in expected.items():
        (rule,) = _bucket(templates[stage_id])["Properties"]["LifecycleConfiguration"]["Rules"]
        assert rule["ExpirationInDays"] == days
        assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}
        assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}


def test_the_bucket_is_kept_in_prod_and_removed_with_dev(templates: dict[str, dict[str, Any]]) -> None:
    assert _bucket(templates["prod-eu-west-1"])["DeletionPolicy"] == "RetainExceptOnCreate"
    assert _bucket(templates["dev"])["DeletionPolicy"] == "Delete"


def test_uploads_reach_the_queue_through_native_eventbridge_notifications(templates: dict[str, dict[str, Any]]) -> None:
    template = templates["dev"]
    bucket_id = _logical_id(template, "AWS::S3::Bucket", "IngestStagingBucket")
    notifications = template["Resources"][bucket_id]["Properties"]["NotificationConfiguration"]
    assert notifications == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    # No notification custom resource (and its unmanaged Lambda function) anywhere.
    assert not [r for r in template["Resources"].values() if r["Type"].startswith("Custom::")]
    rule = resource_with_prefix(template, "AWS::Events::Rule", "IngestUploadCreated")["Properties"]
    assert rule["EventPattern"] == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [{"Ref": bucket_id}]}, "object": {"key": [{"prefix": "uploads/"}]}},
    }
    (target,) = rule["Targets"]
    queue_id = _logical_id(template, "AWS::SQS::Queue", "IngestQueue")
    dead_letters_id = _logical_id(template, "AWS::SQS::Queue", "IngestDeadLetterQueue")
    assert target["Arn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [dead_letters_id, "Arn"]}}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0


def test_the_queue_is_encrypted_and_redrives_to_the_dead_letter_queue(templates: dict[str, dict[str, Any]]) -> None:
    template = templates["prod-eu-west-1"]
    queue = resource_with_prefix(template, "AWS::SQS::Queue", "IngestQueue")["Properties"]
    dead_letters_id = _logical_id(template, "AWS::SQS::Queue", "IngestDeadLetterQueue")
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dead_letters_id, "Arn"]},
        "maxReceiveCount": 3,
    }
    assert queue["KmsMasterKeyId"]["Fn::GetAtt"][0].startswith("Key")
    worker = resource_with_prefix(template, "AWS::Lambda::Function", "IngestWorkerFunction")["Properties"]
    assert queue["VisibilityTimeout"] == 6 * worker["Timeout"]
    # EventBridge may send to the encrypted queue, for this rule only, and use the key for it.
    policy = resource_with_prefix(template, "AWS::SQS::QueuePolicy", "IngestQueuePolicy")["Properties"]
    (statement,) = policy["PolicyDocument"]["Statement"][-1:]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    key_policy = json.dumps(resource_with_prefix(template, "AWS::KMS::Key", "Key")["Properties"]["KeyPolicy"])
    assert "events.amazonaws.com" in key_policy


def test_the_worker_reads_the_queue_through_its_live_alias_with_partial_batch_failures(
    templates: dict[str, dict[str, Any]],
) -> None:
    concurrency = {"dev": 2, "staging": 5, "prod-eu-west-1": 20}
    for stage_id, maximum in concurrency.items():
        template = templates[stage_id]
        mapping = resource_with_prefix(template, "AWS::Lambda::EventSourceMapping", "IngestWorkerLiveFromQueue")
        properties = mapping["Properties"]
        assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert properties["ScalingConfig"] == {"MaximumConcurrency": maximum}
        assert properties["EventSourceArn"]["Fn::GetAtt"][0].startswith("IngestQueue")
        assert properties["FunctionName"]["Fn::Join"][1][-1] == ":live"


def test_the_worker_may_only_read_uploads_and_write_jobs_and_items(templates: dict[str, dict[str, Any]]) -> None:
    statements = _statements_of_role(templates["dev"], "IngestWorkerRole")
    table = next(s for s in statements if s["Action"] == ["dynamodb:GetItem", "dynamodb:UpdateItem"])
    assert table["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["INGEST#*"]}}
    put = next(s for s in statements if s["Action"] == "dynamodb:PutItem")
    assert put["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["ITEM#*"]}}
    read = next(s for s in statements if s["Action"] == ["s3:GetObject", "s3:GetObjectVersion"])
    assert read["Resource"]["Fn::Join"][1][-1] == "/uploads/*"
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert not {a for a in actions if a.startswith("s3:") and a not in ("s3:GetObject", "s3:GetObjectVersion")}
    assert "dynamodb:DeleteItem" not in actions
    api = _statements_of_role(templates["dev"], "FunctionRole")
    signing = [s for s in api if "s3:PutObject" in json.dumps(s["Action"])]
    assert [s["Resource"]["Fn::Join"][1][-1] for s in signing] == ["/uploads/*"]


def test_both_functions_get_the_same_ingest_settings(templates: dict[str, dict[str, Any]]) -> None:
    template = templates["prod-eu-west-1"]
    worker = resource_with_prefix(template, "AWS::Lambda::Function", "IngestWorkerFunction")["Properties"]
    api = resource_with_prefix(template, "AWS::Lambda::Function", "Function")["Properties"]
    names = ("TABLE_NAME", "INGEST_BUCKET_NAME", "MAX_UPLOAD_BYTES", "MAX_RECORDS", "UPLOAD_URL_EXPIRY_SECONDS")
    for name in names:
        assert worker["Environment"]["Variables"][name] == api["Environment"]["Variables"][name], name
    assert worker["Environment"]["Variables"]["MAX_RECORDS"] == "99"
    assert (worker["MemorySize"], worker["Timeout"]) == (1024, 60)


def test_the_worker_is_released_progressively_behind_its_own_probe(templates: dict[str, dict[str, Any]]) -> None:
    template = templates["staging"]
    group = resource_with_prefix(template, "AWS::CodeDeploy::DeploymentGroup", "IngestDeliveryDeploymentGroup")
    assert group["Properties"]["DeploymentConfigName"] == "CodeDeployDefault.LambdaCanary10Percent5Minutes"
    assert len(group["Properties"]["AlarmConfiguration"]["Alarms"]) == 3
    hook = resource_with_prefix(template, "AWS::Lambda::Function", "DeploymentHooksPreTrafficHookFunction")
    variables = hook["Properties"]["Environment"]["Variables"]
    (target,) = [
        json.loads(rendered(v))
        for k, v in variables.items()
        if k.startswith("DEPLOYMENT_TARGET_") and "IngestDelivery" in json.dumps(v)
    ]
    assert target["version_arn"].startswith("<IngestWorkerFunctionCurrentVersion")
    assert target["probe_event"] == ingest_probe_event()
    assert target["expected_response"] == HEALTHY_WORKER_RESPONSE
    duration = resource_with_prefix(template, "AWS::CloudWatch::Alarm", "IngestDeliveryNewVersionDurationP99")
    assert duration["Properties"]["Threshold"] == 48_000


def test_ingest_alarms_reach_the_operations_topic(templates: dict[str, dict[str, Any]]) -> None:
    template = templates["prod-eu-west-1"]
    age = resource_with_prefix(template, "AWS::CloudWatch::Alarm", "OperationsIngestQueueAge")["Properties"]
    assert (age["MetricName"], age["Threshold"]) == ("ApproximateAgeOfOldestMessage", 600)
    dead = resource_with_prefix(template, "AWS::CloudWatch::Alarm", "OperationsIngestDeadLetters")["Properties"]
    assert dead["Dimensions"][0]["Value"]["Fn::GetAtt"][0].startswith("IngestDeadLetterQueue")
    for alarm in (age, dead):
        assert alarm["AlarmActions"][0]["Ref"].startswith("OperationsAlarmTopic")

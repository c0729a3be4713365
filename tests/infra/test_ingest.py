"""Template assertions for the ingest path (row A1): the staging bucket, its EventBridge notifications,
the upload rule, queue and dead-letter queue, the worker's event source, permissions, alarms and
progressive delivery."""

import json
import re
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
        "maxReceiveCount": 5,
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


def _actions(statements: list[dict[str, Any]]) -> set[str]:
    return {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}


def test_the_worker_may_only_read_uploads_update_jobs_and_send_chunks(templates: dict[str, dict[str, Any]]) -> None:
    statements = _statements_of_role(templates["dev"], "IngestWorkerRole")
    table = next(s for s in statements if s["Action"] == ["dynamodb:GetItem", "dynamodb:UpdateItem"])
    assert table["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["INGEST#*"]}}
    read = next(s for s in statements if s["Action"] == ["s3:GetObject", "s3:GetObjectVersion"])
    assert read["Resource"]["Fn::Join"][1][-1] == "/uploads/*"
    send = next(s for s in statements if s["Action"] == "sqs:SendMessage")
    # The import queue, and the worker's own queue for failed asynchronous invocations.
    assert sorted(r["Fn::GetAtt"][0][:-8] for r in send["Resource"]) == [
        "IngestImportQueue",
        "IngestWorkerDeadLetterQueue",
    ]
    actions = _actions(statements)
    # Phase 1 writes no item: a rejected file leaves nothing behind.
    assert not {
        a for a in actions if a.startswith("dynamodb:") and a not in ("dynamodb:GetItem", "dynamodb:UpdateItem")
    }
    assert not {a for a in actions if a.startswith("s3:") and a not in ("s3:GetObject", "s3:GetObjectVersion")}
    api = _statements_of_role(templates["dev"], "FunctionRole")
    signing = [s for s in api if "s3:PutObject" in json.dumps(s["Action"])]
    assert [s["Resource"]["Fn::Join"][1][-1] for s in signing] == ["/uploads/*"]


def test_the_importer_may_only_read_uploads_write_items_and_jobs_and_read_the_capacity(
    templates: dict[str, dict[str, Any]],
) -> None:
    statements = _statements_of_role(templates["dev"], "IngestImporterRole")
    jobs = next(s for s in statements if s["Action"] == ["dynamodb:GetItem", "dynamodb:UpdateItem"])
    assert jobs["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["INGEST#*"]}}
    items = next(s for s in statements if s["Action"] == "dynamodb:BatchWriteItem")
    assert items["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["ITEM#*"]}}
    capacity = next(s for s in statements if s["Action"] == "dynamodb:DescribeTable")
    assert capacity["Resource"]["Fn::GetAtt"][0].startswith("DataTable")
    read = next(s for s in statements if s["Action"] == ["s3:GetObject", "s3:GetObjectVersion"])
    assert read["Resource"]["Fn::Join"][1][-1] == "/uploads/*"
    actions = _actions(statements)
    assert {a for a in actions if a.startswith("dynamodb:")} == {
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:DescribeTable",
    }
    assert {a for a in actions if a.startswith("sqs:")} == {
        "sqs:SendMessage",  # the rest of a chunk that needs another invocation
        "sqs:ReceiveMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueUrl",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
    }
    queues = {
        resource["Fn::GetAtt"][0][:-8]
        for statement in statements
        if any(a.startswith("sqs:") for a in _actions([statement]))
        for resource in (statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]])
    }
    # Its own queue, and its queue for failed asynchronous invocations.
    assert queues == {"IngestImportQueue", "IngestImporterDeadLetterQueue"}


def test_the_import_queue_is_encrypted_keeps_chunks_two_weeks_and_redrives_after_five_receives(
    templates: dict[str, dict[str, Any]],
) -> None:
    template = templates["prod-eu-west-1"]
    queue = resource_with_prefix(template, "AWS::SQS::Queue", "IngestImportQueue")["Properties"]
    dead_letters_id = _logical_id(template, "AWS::SQS::Queue", "IngestImportDeadLetterQueue")
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dead_letters_id, "Arn"]},
        "maxReceiveCount": 5,
    }
    assert queue["KmsMasterKeyId"]["Fn::GetAtt"][0].startswith("Key")
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
    importer = resource_with_prefix(template, "AWS::Lambda::Function", "IngestImporterFunction")["Properties"]
    assert queue["VisibilityTimeout"] == 6 * importer["Timeout"]
    assert (importer["MemorySize"], importer["Timeout"]) == (512, 300)


def test_each_upload_and_each_chunk_gets_an_invocation_of_its_own_up_to_the_configured_concurrency(
    templates: dict[str, dict[str, Any]],
) -> None:
    expected = {"dev": (2, 2), "staging": (5, 5), "prod-eu-west-1": (20, 20)}
    for stage_id, (uploads, chunks) in expected.items():
        template = templates[stage_id]
        for prefix, queue, maximum in (
            ("IngestWorkerLiveFromQueue", "IngestQueue", uploads),
            ("IngestImporterLiveFromImportQueue", "IngestImportQueue", chunks),
        ):
            properties = resource_with_prefix(template, "AWS::Lambda::EventSourceMapping", prefix)["Properties"]
            assert properties["BatchSize"] == 1
            assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
            assert properties["ScalingConfig"] == {"MaximumConcurrency": maximum}
            assert re.fullmatch(f"{queue}[0-9A-F]{{8}}", properties["EventSourceArn"]["Fn::GetAtt"][0])
            assert properties["FunctionName"]["Fn::Join"][1][-1] == ":live"


def test_the_functions_get_the_limits_queues_and_share_of_the_capacity_the_environment_sets(
    templates: dict[str, dict[str, Any]],
) -> None:
    template = templates["prod-eu-west-1"]
    worker = resource_with_prefix(template, "AWS::Lambda::Function", "IngestWorkerFunction")["Properties"]
    importer = resource_with_prefix(template, "AWS::Lambda::Function", "IngestImporterFunction")["Properties"]
    api = resource_with_prefix(template, "AWS::Lambda::Function", "Function")["Properties"]
    for name in ("TABLE_NAME", "INGEST_BUCKET_NAME", "MAX_UPLOAD_BYTES", "MAX_RECORDS", "UPLOAD_URL_EXPIRY_SECONDS"):
        assert worker["Environment"]["Variables"][name] == api["Environment"]["Variables"][name], name
    variables = worker["Environment"]["Variables"]
    assert (variables["MAX_UPLOAD_BYTES"], variables["MAX_RECORDS"], variables["CHUNK_RECORDS"]) == (
        str(1024**3),
        "1000000",
        "1000",
    )
    assert (worker["MemorySize"], worker["Timeout"]) == (1769, 900)
    assert variables["IMPORT_QUEUE_URL"] == importer["Environment"]["Variables"]["IMPORT_QUEUE_URL"]
    assert variables["INGEST_MAX_RECEIVE_COUNT"] == "5"
    assert variables["INGEST_DEAD_LETTER_QUEUE_ARN"]["Fn::GetAtt"][0].startswith("IngestDeadLetterQueue")
    own = importer["Environment"]["Variables"]
    assert (own["IMPORT_WRITE_SHARE"], own["IMPORT_MAX_CONCURRENCY"], own["IMPORT_MAX_RECEIVE_COUNT"]) == (
        "0.5",
        "20",
        "5",
    )
    assert own["IMPORT_DEAD_LETTER_QUEUE_ARN"]["Fn::GetAtt"][0].startswith("IngestImportDeadLetterQueue")


@pytest.mark.parametrize(
    ("group", "function", "duration_ms"),
    [("IngestDelivery", "IngestWorker", 900 * 800), ("ImportDelivery", "IngestImporter", 300 * 800)],
    ids=["worker", "importer"],
)
def test_the_worker_and_the_importer_are_released_progressively_behind_their_own_probe(
    templates: dict[str, dict[str, Any]], group: str, function: str, duration_ms: int
) -> None:
    template = templates["staging"]
    deployment = resource_with_prefix(template, "AWS::CodeDeploy::DeploymentGroup", f"{group}DeploymentGroup")
    assert deployment["Properties"]["DeploymentConfigName"] == "CodeDeployDefault.LambdaCanary10Percent5Minutes"
    assert len(deployment["Properties"]["AlarmConfiguration"]["Alarms"]) == 3
    hook = resource_with_prefix(template, "AWS::Lambda::Function", "DeploymentHooksPreTrafficHookFunction")
    variables = hook["Properties"]["Environment"]["Variables"]
    (target,) = [
        json.loads(rendered(v))
        for k, v in variables.items()
        if k.startswith("DEPLOYMENT_TARGET_") and f"{group}DeploymentGroup" in json.dumps(v)
    ]
    assert target["version_arn"].startswith(f"<{function}FunctionCurrentVersion")
    assert target["probe_event"] == ingest_probe_event()
    assert target["expected_response"] == HEALTHY_WORKER_RESPONSE
    duration = resource_with_prefix(template, "AWS::CloudWatch::Alarm", f"{group}NewVersionDurationP99")
    assert duration["Properties"]["Threshold"] == duration_ms


def test_ingest_alarms_reach_the_operations_topic(templates: dict[str, dict[str, Any]]) -> None:
    template = templates["prod-eu-west-1"]
    age = resource_with_prefix(template, "AWS::CloudWatch::Alarm", "OperationsIngestQueueAge")["Properties"]
    assert (age["MetricName"], age["Threshold"]) == ("ApproximateAgeOfOldestMessage", 600)
    dead = resource_with_prefix(template, "AWS::CloudWatch::Alarm", "OperationsIngestDeadLetters")["Properties"]
    assert dead["Dimensions"][0]["Value"]["Fn::GetAtt"][0].startswith("IngestDeadLetterQueue")
    for alarm in (age, dead):
        assert alarm["AlarmActions"][0]["Ref"].startswith("OperationsAlarmTopic")


def test_import_alarms_watch_failed_chunks_dead_letters_and_waiting_chunks(
    templates: dict[str, dict[str, Any]],
) -> None:
    template = templates["prod-eu-west-1"]
    age = resource_with_prefix(template, "AWS::CloudWatch::Alarm", "OperationsImportAge")["Properties"]
    assert (age["MetricName"], age["Threshold"]) == ("ApproximateAgeOfOldestMessage", 21_600)
    assert age["Dimensions"][0]["Value"]["Fn::GetAtt"][0].startswith("IngestImportQueue")
    dead = resource_with_prefix(template, "AWS::CloudWatch::Alarm", "OperationsImportDeadLetters")["Properties"]
    assert dead["Dimensions"][0]["Value"]["Fn::GetAtt"][0].startswith("IngestImportDeadLetterQueue")
    failures = resource_with_prefix(template, "AWS::CloudWatch::Alarm", "OperationsImportChunkFailures")["Properties"]
    assert (failures["MetricName"], failures["Threshold"]) == ("Errors", 1)
    dimensions = {d["Name"]: json.dumps(d["Value"]) for d in failures["Dimensions"]}
    assert "IngestImporterFunction" in dimensions["Resource"]
    assert ":live" in dimensions["Resource"]
    for alarm in (age, dead, failures):
        assert alarm["AlarmActions"][0]["Ref"].startswith("OperationsAlarmTopic")
    _, dashboard = next(iter(resources_of(template, "AWS::CloudWatch::Dashboard").items()))
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for title in ("Records validated / imported", "Import chunks waiting", "Import dead letters"):
        assert title in body, title

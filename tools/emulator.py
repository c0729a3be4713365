"""Local AWS emulation for tests, the bench and `make local-api`: moto in server mode on 127.0.0.1, and the dev
stage's tables, secret, buckets, queues and EventBridge rules created in it from the synthesized
template's own definitions (key schema, indexes, streams, TTL, capacity, versioning, bucket
notifications, redrive policies, event patterns and targets), so runtime code and infrastructure
cannot drift apart. Functions are not created (moto runs Lambda code in Docker only); their
environment is read from the template so callers can run the handlers in-process."""

import functools
import json
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

REGION = "eu-west-1"
# CloudFormation spells two CORS keys differently from the S3 API.
_CORS_KEYS = {"MaxAge": "MaxAgeSeconds", "Id": "ID"}
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    server = subprocess.Popen(  # noqa: S603 - the venv's own moto_server, bound to loopback
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return server, f"http://127.0.0.1:{port}"
        time.sleep(0.05)
    server.kill()
    raise TimeoutError("moto_server did not start")


def client_environment(endpoint: str) -> dict[str, str]:
    """What a handler run in-process needs besides its function's environment: its AWS calls go to
    the emulator, with credentials the emulator accepts, and no X-Ray daemon to send to."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"],
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


def client(service: str, endpoint: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION, **CREDENTIALS)


def set_write_capacity(endpoint: str, table_name: str, index_name: str, units: int) -> None:
    """Give a table and its index `units` write units a second (5 read units): room for imports,
    which pace themselves to the smaller of the two."""
    throughput = {"ReadCapacityUnits": 5, "WriteCapacityUnits": units}
    client("dynamodb", endpoint).update_table(
        TableName=table_name,
        ProvisionedThroughput=throughput,
        GlobalSecondaryIndexUpdates=[{"Update": {"IndexName": index_name, "ProvisionedThroughput": throughput}}],
    )


def _capacity(table: dict[str, Any]) -> dict[str, int]:
    """Provisioned throughput as the template sets it (the minimum of auto-scaled capacity)."""
    write = table["WriteProvisionedThroughputSettings"]["WriteCapacityAutoScalingSettings"]["MinCapacity"]
    (replica,) = table["Replicas"]
    read = replica["ReadProvisionedThroughputSettings"]
    read_units = read.get("ReadCapacityUnits") or read["ReadCapacityAutoScalingSettings"]["MinCapacity"]
    return {"ReadCapacityUnits": int(read_units), "WriteCapacityUnits": int(write)}


def create_table(dynamodb: Any, name: str, table: dict[str, Any]) -> None:
    """CreateTable from an AWS::DynamoDB::GlobalTable's properties (global-table-only settings dropped)."""
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": table["KeySchema"],
        "AttributeDefinitions": table["AttributeDefinitions"],
        "BillingMode": table.get("BillingMode", "PROVISIONED"),
    }
    provisioned = request["BillingMode"] == "PROVISIONED"
    if provisioned:
        request["ProvisionedThroughput"] = _capacity(table)
    indexes = []
    for index in table.get("GlobalSecondaryIndexes", []):
        spec = {k: index[k] for k in ("IndexName", "KeySchema", "Projection")}
        if provisioned:
            spec["ProvisionedThroughput"] = request["ProvisionedThroughput"]
        indexes.append(spec)
    if indexes:
        request["GlobalSecondaryIndexes"] = indexes
    if "StreamSpecification" in table:
        request["StreamSpecification"] = {"StreamEnabled": True, **table["StreamSpecification"]}
    dynamodb.create_table(**request)
    if table.get("TimeToLiveSpecification", {}).get("Enabled"):
        dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=table["TimeToLiveSpecification"])


class _Names:
    """What Ref and Fn::GetAtt(Arn) of each created resource resolve to in the emulator."""

    def __init__(self) -> None:
        self.refs: dict[str, str] = {}
        self.arns: dict[str, str] = {}

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"Ref"} and value["Ref"] in self.refs:
                return self.refs[value["Ref"]]
            if set(value) == {"Fn::GetAtt"} and value["Fn::GetAtt"][1] == "Arn" and value["Fn::GetAtt"][0] in self.arns:
                return self.arns[value["Fn::GetAtt"][0]]
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value


def _of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in template["Resources"].items() if v["Type"] == resource_type}


def _create_buckets(endpoint: str, template: dict[str, Any], names: _Names) -> None:
    s3 = client("s3", endpoint)
    for logical_id, bucket in sorted(_of_type(template, "AWS::S3::Bucket").items()):
        name = logical_id.lower()
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        names.refs[logical_id], names.arns[logical_id] = name, f"arn:aws:s3:::{name}"
        if bucket.get("VersioningConfiguration"):
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=bucket["VersioningConfiguration"])
        if bucket.get("CorsConfiguration"):
            rules = [
                {_CORS_KEYS.get(key, key): value for key, value in rule.items()}
                for rule in bucket["CorsConfiguration"]["CorsRules"]
            ]
            s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": rules})
        notifications = bucket.get("NotificationConfiguration", {})
        if notifications.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled"):
            s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}}
            )


def _create_queues(endpoint: str, template: dict[str, Any], names: _Names) -> None:
    sqs = client("sqs", endpoint)
    queues = _of_type(template, "AWS::SQS::Queue")
    # Dead-letter queues first: a redrive policy names its queue's ARN.
    for logical_id in sorted(queues, key=lambda k: "RedrivePolicy" in queues[k]):
        queue = queues[logical_id]
        attributes: dict[str, str] = {
            name: str(queue[name]) for name in ("VisibilityTimeout", "MessageRetentionPeriod") if name in queue
        }
        if "RedrivePolicy" in queue:
            attributes["RedrivePolicy"] = json.dumps(names.resolve(queue["RedrivePolicy"]))
        url = sqs.create_queue(QueueName=logical_id, Attributes=attributes)["QueueUrl"]
        names.refs[logical_id] = url
        names.arns[logical_id] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]


def _create_rules(endpoint: str, template: dict[str, Any], names: _Names) -> None:
    events = client("events", endpoint)
    for logical_id, rule in sorted(_of_type(template, "AWS::Events::Rule").items()):
        events.put_rule(
            Name=logical_id, EventPattern=json.dumps(names.resolve(rule["EventPattern"])), State=rule["State"]
        )
        targets = []
        for target in names.resolve(rule.get("Targets", [])):
            targets.append({k: v for k, v in target.items() if k in ("Id", "Arn", "DeadLetterConfig", "RetryPolicy")})
        if targets:
            events.put_targets(Rule=logical_id, Targets=targets)


def function_environment(template: dict[str, Any], logical_id_prefix: str, names: _Names) -> dict[str, str]:
    """The environment variables the template gives a function, with references resolved to the
    emulated resources."""
    functions = _of_type(template, "AWS::Lambda::Function")
    # A logical id is the construct path without duplicates plus an 8-character hash.
    (function,) = [f for k, f in functions.items() if re.fullmatch(f"{logical_id_prefix}[0-9A-F]{{8}}", k)]
    variables: dict[str, Any] = names.resolve(function["Environment"]["Variables"])
    unresolved = sorted(k for k, v in variables.items() if not isinstance(v, str))
    if unresolved:
        raise ValueError(f"{logical_id_prefix}: cannot resolve {unresolved} in the emulator")
    return variables


@dataclass(frozen=True)
class ItemsResources:
    endpoint: str
    table_name: str
    list_index_name: str
    idempotency_table_name: str
    pagination_secret_arn: str
    template: dict[str, Any]
    # The queue the upload rule feeds (the worker's), the import queue (the importer's), their
    # dead-letter queues, and the batch size of each function's event source.
    ingest_queue_url: str
    ingest_dead_letter_queue_url: str
    import_queue_url: str
    import_dead_letter_queue_url: str
    batch_sizes: dict[str, int]
    # The functions' environments as the stack sets them (tables, secret, bucket, queues, limits).
    api_environment: dict[str, str]
    worker_environment: dict[str, str]
    importer_environment: dict[str, str]


def create_items_resources(endpoint: str, template: dict[str, Any]) -> ItemsResources:
    resources = template["Resources"]
    dynamodb = client("dynamodb", endpoint)
    tables = {k: v["Properties"] for k, v in resources.items() if v["Type"] == "AWS::DynamoDB::GlobalTable"}
    names = {}
    for logical_id, table in sorted(tables.items()):
        create_table(dynamodb, logical_id, table)
        names[logical_id] = logical_id
    items_id = next(k for k in tables if k.startswith("DataTable"))
    idempotency_id = next(k for k in tables if k.startswith("DataIdempotencyTable"))
    (secret_id,) = [
        k
        for k, v in resources.items()
        if v["Type"] == "AWS::SecretsManager::Secret" and k.startswith("SecretsPaginationKey")
    ]
    generator = resources[secret_id]["Properties"]["GenerateSecretString"]
    value = json.loads(generator["SecretStringTemplate"])
    value[generator["GenerateStringKey"]] = secrets.token_urlsafe(generator["PasswordLength"])[
        : generator["PasswordLength"]
    ]
    arn = client("secretsmanager", endpoint).create_secret(Name=secret_id, SecretString=json.dumps(value))["ARN"]
    (list_index,) = tables[items_id]["GlobalSecondaryIndexes"]

    resolver = _Names()
    resolver.refs.update({logical_id: logical_id for logical_id in tables})
    resolver.refs[secret_id] = arn
    _create_buckets(endpoint, template, resolver)
    _create_queues(endpoint, template, resolver)
    _create_rules(endpoint, template, resolver)
    worker_environment = function_environment(template, "IngestWorkerFunction", resolver)
    importer_environment = function_environment(template, "IngestImporterFunction", resolver)
    api_environment = function_environment(template, "Function", resolver)
    (rule,) = [r for r in _of_type(template, "AWS::Events::Rule").values() if r.get("Targets")]
    (target,) = rule["Targets"]
    queue_id = target["Arn"]["Fn::GetAtt"][0]
    mappings = {
        m["EventSourceArn"]["Fn::GetAtt"][0]: m for m in _of_type(template, "AWS::Lambda::EventSourceMapping").values()
    }
    (import_queue_id,) = [q for q in mappings if q != queue_id]
    queues = _of_type(template, "AWS::SQS::Queue")

    def dead_letters_of(queue: str) -> str:
        return str(resolver.refs[queues[queue]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]])

    return ItemsResources(
        endpoint=endpoint,
        table_name=items_id,
        list_index_name=list_index["IndexName"],
        idempotency_table_name=idempotency_id,
        pagination_secret_arn=arn,
        template=template,
        ingest_queue_url=resolver.refs[queue_id],
        ingest_dead_letter_queue_url=dead_letters_of(queue_id),
        import_queue_url=resolver.refs[import_queue_id],
        import_dead_letter_queue_url=dead_letters_of(import_queue_id),
        batch_sizes={resolver.refs[q]: int(m.get("BatchSize", 10)) for q, m in mappings.items()},
        api_environment=api_environment,
        worker_environment=worker_environment,
        importer_environment=importer_environment,
    )


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event Lambda's SQS event source delivers for messages from ReceiveMessage."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }


_CLIENT_LOCK = threading.Lock()


@functools.cache
def _event_source_client(endpoint: str) -> Any:
    """One SQS client per endpoint for the polling (boto3 clients may be shared between threads; making
    one from the default session may not, hence the lock)."""
    with _CLIENT_LOCK:
        return client("sqs", endpoint)


@functools.cache
def _queue_arn(endpoint: str, queue_url: str) -> str:
    attributes = _event_source_client(endpoint).get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])


def poll_queue_once(endpoint: str, queue_url: str, handler: Any, context: Any, batch_size: int = 5) -> int:
    """What Lambda's SQS event source does, once: receive a batch, invoke the handler with it, delete
    the messages it did not report as failed (all of them when the invocation fails), and make the
    failed ones visible again at once (in AWS they reappear after the visibility timeout and go to the
    dead-letter queue after maxReceiveCount). Returns the number of messages handed to the handler."""
    sqs = _event_source_client(endpoint)
    messages = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=batch_size, AttributeNames=["All"], MessageAttributeNames=["All"]
    ).get("Messages", [])
    if not messages:
        return 0
    arn = _queue_arn(endpoint, queue_url)
    try:
        response = handler(sqs_event(messages, arn), context)
    except Exception:  # a failed invocation: Lambda returns the whole batch to the queue
        response = {"batchItemFailures": [{"itemIdentifier": m["MessageId"]} for m in messages]}
    failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
    for message in messages:
        if message["MessageId"] in failed:
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        else:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return len(messages)


def redrive(endpoint: str, dead_letter_queue_url: str, destination_url: str) -> int:
    """What SQS's StartMessageMoveTask does (moto does not implement it): move every message of a
    dead-letter queue to a queue as a new message (new id, receive count 0). Returns how many moved."""
    sqs = client("sqs", endpoint)
    moved = 0
    while messages := sqs.receive_message(QueueUrl=dead_letter_queue_url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            sqs.send_message(QueueUrl=destination_url, MessageBody=message["Body"])
            sqs.delete_message(QueueUrl=dead_letter_queue_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    return moved


def queue_depth(endpoint: str, queue_url: str) -> int:
    """Messages in a queue, visible or in flight."""
    attributes = client("sqs", endpoint).get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

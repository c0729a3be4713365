"""The peer: the ingest worker written the usual Powertools way — Logger, Tracer and Metrics created at
import (X-Ray patching every library it knows), the batch utility, a pydantic model validating each
record, the clients created at import; the five calls ours makes."""

import json
import os

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import BaseModel, Field

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)
dynamodb = boto3.client("dynamodb")
s3 = boto3.client("s3")
sqs = boto3.client("sqs")


class Item(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    quantity: int = Field(default=0, ge=0)


def _set_status(key: dict, status: str) -> None:  # type: ignore[type-arg]
    dynamodb.update_item(
        TableName=os.environ["TABLE_NAME"],
        Key=key,
        UpdateExpression="SET #s = :v",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":v": {"S": status}},
    )


@tracer.capture_method
def handle(record: SQSRecord) -> None:
    detail = json.loads(record.body)["detail"]
    key, version = detail["object"]["key"], detail["object"]["version-id"]
    job = {"pk": {"S": f"INGEST#{key.rsplit('/', 1)[-1]}"}, "sk": {"S": "INGEST"}}
    _set_status(job, "VALIDATING")
    body = s3.get_object(Bucket=detail["bucket"]["name"], Key=key, VersionId=version)["Body"]
    records = sum(1 for line in body.iter_lines() if Item.model_validate_json(line).name)
    _set_status(job, "IMPORTING")
    chunk = {"key": key, "version": version, "start": 0, "records": records}
    sqs.send_message_batch(
        QueueUrl=os.environ["IMPORT_QUEUE_URL"], Entries=[{"Id": "0", "MessageBody": json.dumps(chunk)}]
    )
    _set_status(job, "QUEUED")
    logger.info("upload validated", extra={"records": records})
    metrics.add_metric(name="RecordsValidated", unit="Count", value=records)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):  # type: ignore[no-untyped-def]
    return process_partial_response(event=event, record_handler=handle, processor=processor, context=context)

"""The peer: the importer written the usual Powertools way — Logger, Tracer and Metrics created at import
(X-Ray patching every library it knows), the batch utility, a pydantic model per record, and the items
written with boto3's resource layer and its batch_writer."""

import json
import os
import uuid

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import BaseModel, Field

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)
table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
s3 = boto3.client("s3")


class Item(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    quantity: int = Field(default=0, ge=0)


@tracer.capture_method
def handle(record: SQSRecord) -> None:
    chunk = json.loads(record.body)
    table.meta.client.describe_table(TableName=table.name)
    job = {"pk": f"INGEST#{chunk['job_id']}", "sk": "INGEST"}
    table.get_item(Key=job, ConsistentRead=True)
    body = s3.get_object(
        Bucket=os.environ["INGEST_BUCKET_NAME"],
        Key=chunk["key"],
        VersionId=chunk["version"],
        Range=f"bytes={chunk['start']}-{chunk['end'] - 1}",
    )["Body"]
    with table.batch_writer() as batch:
        for line in body.iter_lines():
            item = Item.model_validate_json(line)
            item_id = uuid.uuid4().hex
            batch.put_item(Item={"pk": f"ITEM#{item_id}", "sk": "ITEM", "id": item_id, **item.model_dump()})
    for status in ("COUNTED", "ACCEPTED"):
        table.update_item(
            Key=job,
            UpdateExpression="SET #s = :v",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":v": status},
        )
    logger.info("chunk imported", extra={"chunk": chunk["index"]})
    metrics.add_metric(name="ItemsImported", unit="Count", value=chunk["records"])


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):  # type: ignore[no-untyped-def]
    return process_partial_response(event=event, record_handler=handle, processor=processor, context=context)

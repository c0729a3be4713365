"""The limit: the importer's calls written with boto3 alone (no Powertools, no validation models): read
the table's capacity and the job, read the chunk's byte range, write its items in one batch, count the
chunk and finish the job."""

import json
import os
import uuid

import boto3

_dynamodb = boto3.client("dynamodb")
_s3 = boto3.client("s3")


def lambda_handler(event, context):  # type: ignore[no-untyped-def]
    table = os.environ["TABLE_NAME"]
    _dynamodb.describe_table(TableName=table)
    for record in event["Records"]:
        chunk = json.loads(record["body"])
        job = {"pk": {"S": f"INGEST#{chunk['job_id']}"}, "sk": {"S": "INGEST"}}
        _dynamodb.get_item(TableName=table, Key=job, ConsistentRead=True)
        body = _s3.get_object(
            Bucket=os.environ["INGEST_BUCKET_NAME"],
            Key=chunk["key"],
            VersionId=chunk["version"],
            Range=f"bytes={chunk['start']}-{chunk['end'] - 1}",
        )["Body"]
        requests = []
        for line in body.iter_lines():
            fields = json.loads(line)
            item_id = uuid.uuid4().hex
            requests.append(
                {
                    "PutRequest": {
                        "Item": {
                            "pk": {"S": f"ITEM#{item_id}"},
                            "sk": {"S": "ITEM"},
                            "id": {"S": item_id},
                            "name": {"S": fields["name"]},
                            "quantity": {"N": str(fields.get("quantity", 0))},
                        }
                    }
                }
            )
        _dynamodb.batch_write_item(RequestItems={table: requests})
        for status in ("COUNTED", "ACCEPTED"):
            _dynamodb.update_item(
                TableName=table,
                Key=job,
                UpdateExpression="SET #s = :v",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":v": {"S": status}},
            )
    return {"batchItemFailures": []}

"""The limit: the ingest worker's calls written with boto3 alone (no Powertools, no validation models):
claim the job, read the upload line by line, mark the job importing, queue its one chunk, mark the chunks
queued (the five calls ours makes)."""

import json
import os

import boto3

_dynamodb = boto3.client("dynamodb")
_s3 = boto3.client("s3")
_sqs = boto3.client("sqs")


def lambda_handler(event, context):  # type: ignore[no-untyped-def]
    table = os.environ["TABLE_NAME"]
    for record in event["Records"]:
        detail = json.loads(record["body"])["detail"]
        key, version = detail["object"]["key"], detail["object"]["version-id"]
        job = {"pk": {"S": f"INGEST#{key.rsplit('/', 1)[-1]}"}, "sk": {"S": "INGEST"}}
        _dynamodb.update_item(
            TableName=table,
            Key=job,
            UpdateExpression="SET #s = :v",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":v": {"S": "VALIDATING"}},
        )
        body = _s3.get_object(Bucket=detail["bucket"]["name"], Key=key, VersionId=version)["Body"]
        records = sum(1 for line in body.iter_lines() if json.loads(line)["name"])
        _dynamodb.update_item(
            TableName=table,
            Key=job,
            UpdateExpression="SET #s = :v, records = :n",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":v": {"S": "IMPORTING"}, ":n": {"N": str(records)}},
        )
        chunk = {"key": key, "version": version, "start": 0, "records": records}
        _sqs.send_message_batch(
            QueueUrl=os.environ["IMPORT_QUEUE_URL"], Entries=[{"Id": "0", "MessageBody": json.dumps(chunk)}]
        )
        _dynamodb.update_item(
            TableName=table,
            Key=job,
            UpdateExpression="SET queued = :t",
            ExpressionAttributeValues={":t": {"BOOL": True}},
        )
    return {"batchItemFailures": []}

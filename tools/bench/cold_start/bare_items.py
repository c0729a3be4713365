"""The limit: the same GET /items/{id} written with boto3 alone (no Powertools, no validation)."""

import json
import os

import boto3

_client = boto3.client("dynamodb")


def lambda_handler(event, context):  # type: ignore[no-untyped-def]
    item_id = event["pathParameters"]["item_id"]
    record = _client.get_item(
        TableName=os.environ["TABLE_NAME"], Key={"pk": {"S": f"ITEM#{item_id}"}, "sk": {"S": "ITEM"}}
    ).get("Item")
    if record is None:
        return {"statusCode": 404, "body": json.dumps({"message": "not found"})}
    return {"statusCode": 200, "body": json.dumps({k: next(iter(v.values())) for k, v in record.items()})}

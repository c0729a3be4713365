"""The peer: the same route written the usual Powertools way — Logger, Tracer, Metrics, a validating
resolver, idempotency and parameters all imported and created at import, clients created at import."""

import os
from typing import Annotated

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.utilities import parameters  # noqa: F401
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig  # noqa: F401
from pydantic import BaseModel

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayRestResolver(enable_validation=True)
dynamodb = boto3.client("dynamodb")


class Item(BaseModel):
    id: str
    name: str
    quantity: int


@app.get("/items/<item_id>")
@tracer.capture_method
def get_item(item_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]) -> Item:
    record = dynamodb.get_item(
        TableName=os.environ["TABLE_NAME"], Key={"pk": {"S": f"ITEM#{item_id}"}, "sk": {"S": "ITEM"}}
    )["Item"]
    return Item(id=record["id"]["S"], name=record["name"]["S"], quantity=int(record["quantity"]["N"]))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):  # type: ignore[no-untyped-def]
    return app.resolve(event, context)

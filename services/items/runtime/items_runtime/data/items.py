"""Data access: the items table behind a small interface the logic layer depends on."""

from __future__ import annotations

from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from ..errors import StorageUnavailableError
from ..models import Item

ITEM_TYPE = "ITEM"
RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
    }
)
CONDITION_FAILED = "ConditionalCheckFailedException"


class ItemRepository(Protocol):
    def put_new(self, item: Item) -> None: ...

    def replace(self, item: Item) -> bool:
        """Overwrite an existing item; False when there is none."""
        ...

    def get(self, item_id: str) -> Item | None: ...

    def delete(self, item_id: str) -> bool:
        """False when there was no such item."""
        ...

    def list_page(self, limit: int, start_key: dict[str, Any] | None) -> tuple[list[Item], dict[str, Any] | None]: ...


def _key(item_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"{ITEM_TYPE}#{item_id}"}, "sk": {"S": ITEM_TYPE}}


def item_record(item: Item) -> dict[str, dict[str, str]]:
    return {
        **_key(item.id),
        "gsi1pk": {"S": ITEM_TYPE},
        "gsi1sk": {"S": f"{item.created_at}#{item.id}"},
        "id": {"S": item.id},
        "name": {"S": item.name},
        "description": {"S": item.description},
        "quantity": {"N": str(item.quantity)},
        "created_at": {"S": item.created_at},
        "updated_at": {"S": item.updated_at},
        "created_by": {"S": item.created_by},
    }


def _from_record(record: dict[str, dict[str, str]]) -> Item:
    return Item(
        id=record["id"]["S"],
        name=record["name"]["S"],
        description=record.get("description", {}).get("S", ""),
        quantity=int(record["quantity"]["N"]),
        created_at=record["created_at"]["S"],
        updated_at=record["updated_at"]["S"],
        created_by=record.get("created_by", {}).get("S", ""),
    )


class DynamoDbItemRepository:
    def __init__(self, client: Any, table_name: str, list_index_name: str) -> None:
        self._client = client
        self._table = table_name
        self._index = list_index_name

    def put_new(self, item: Item) -> None:
        self._call(
            "put_item",
            TableName=self._table,
            Item=item_record(item),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def replace(self, item: Item) -> bool:
        return self._conditional(
            "put_item", TableName=self._table, Item=item_record(item), ConditionExpression="attribute_exists(pk)"
        )

    def get(self, item_id: str) -> Item | None:
        response = self._call("get_item", TableName=self._table, Key=_key(item_id), ConsistentRead=True)
        record = response.get("Item")
        return _from_record(record) if record else None

    def delete(self, item_id: str) -> bool:
        return self._conditional(
            "delete_item", TableName=self._table, Key=_key(item_id), ConditionExpression="attribute_exists(pk)"
        )

    def list_page(self, limit: int, start_key: dict[str, Any] | None) -> tuple[list[Item], dict[str, Any] | None]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": self._index,
            "KeyConditionExpression": "gsi1pk = :type",
            "ExpressionAttributeValues": {":type": {"S": ITEM_TYPE}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start_key:
            request["ExclusiveStartKey"] = start_key
        response = self._call("query", **request)
        return [_from_record(r) for r in response.get("Items", [])], response.get("LastEvaluatedKey")

    def _conditional(self, operation: str, **kwargs: Any) -> bool:
        return conditional_call(self._client, operation, **kwargs)

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        return call(self._client, operation, **kwargs)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def conditional_call(client: Any, operation: str, **kwargs: Any) -> bool:
    """A write with a ConditionExpression; False when the condition did not hold."""
    try:
        call(client, operation, **kwargs)
    except ClientError as error:
        if error_code(error) == CONDITION_FAILED:
            return False
        raise
    return True


def call(client: Any, operation: str, **kwargs: Any) -> dict[str, Any]:
    """One DynamoDB call; throttles, transient errors and timeouts become StorageUnavailableError."""
    try:
        result: dict[str, Any] = getattr(client, operation)(**kwargs)
        return result
    except ClientError as error:
        if error_code(error) in RETRYABLE_CODES:
            raise StorageUnavailableError(str(error)) from error
        raise
    except BotoCoreError as error:  # connect/read timeouts, endpoint errors
        raise StorageUnavailableError(str(error)) from error

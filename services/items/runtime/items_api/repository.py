"""Data access: the items table behind a small interface the logic layer depends on."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, ReadTimeoutError

from .errors import InvalidPageTokenError, StorageUnavailableError
from .models import Item

ITEM_TYPE = "ITEM"
_RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    }
)


class ItemRepository(Protocol):
    def put_new(self, item: Item) -> None: ...

    def get(self, item_id: str) -> Item | None: ...

    def list_page(self, limit: int, token: str | None) -> tuple[list[Item], str | None]: ...


def _key(item_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"{ITEM_TYPE}#{item_id}"}, "sk": {"S": ITEM_TYPE}}


def _to_record(item: Item) -> dict[str, dict[str, str]]:
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
    }


def _from_record(record: dict[str, dict[str, str]]) -> Item:
    return Item(
        id=record["id"]["S"],
        name=record["name"]["S"],
        description=record.get("description", {}).get("S", ""),
        quantity=int(record["quantity"]["N"]),
        created_at=record["created_at"]["S"],
        updated_at=record["updated_at"]["S"],
    )


def encode_token(last_key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(last_key, sort_keys=True).encode()).decode()


def decode_token(token: str) -> dict[str, Any]:
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidPageTokenError("next_token is not a token this API issued") from None
    expected = {"pk", "sk", "gsi1pk", "gsi1sk"}
    if not isinstance(value, dict) or set(value) != expected:
        raise InvalidPageTokenError("next_token is not a token this API issued")
    return value


class DynamoDbItemRepository:
    def __init__(self, client: Any, table_name: str, list_index_name: str) -> None:
        self._client = client
        self._table = table_name
        self._index = list_index_name

    def put_new(self, item: Item) -> None:
        self._call(
            "put_item",
            TableName=self._table,
            Item=_to_record(item),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def get(self, item_id: str) -> Item | None:
        response = self._call("get_item", TableName=self._table, Key=_key(item_id), ConsistentRead=True)
        record = response.get("Item")
        return _from_record(record) if record else None

    def list_page(self, limit: int, token: str | None) -> tuple[list[Item], str | None]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": self._index,
            "KeyConditionExpression": "gsi1pk = :type",
            "ExpressionAttributeValues": {":type": {"S": ITEM_TYPE}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if token:
            request["ExclusiveStartKey"] = decode_token(token)
        response = self._call("query", **request)
        last_key = response.get("LastEvaluatedKey")
        return [_from_record(r) for r in response.get("Items", [])], encode_token(last_key) if last_key else None

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = getattr(self._client, operation)(**kwargs)
            return result
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _RETRYABLE_CODES:
                raise StorageUnavailableError(str(error)) from error
            raise
        except (ConnectTimeoutError, ReadTimeoutError) as error:
            raise StorageUnavailableError(str(error)) from error
        except BotoCoreError as error:
            raise StorageUnavailableError(str(error)) from error

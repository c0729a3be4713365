"""The DynamoDB data-access layer, checked request by request with botocore's Stubber."""

from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.stub import ANY, Stubber

from items_runtime.data.items import DynamoDbItemRepository
from items_runtime.errors import StorageUnavailableError
from items_runtime.models import Item

TABLE = "items-table"
ITEM = Item(
    id="a" * 32,
    name="Widget",
    description="",
    quantity=2,
    created_at="2026-11-22T00:00:00.000+00:00",
    updated_at="2026-11-22T00:00:00.000+00:00",
)
RECORD = {
    "pk": {"S": f"ITEM#{'a' * 32}"},
    "sk": {"S": "ITEM"},
    "gsi1pk": {"S": "ITEM"},
    "gsi1sk": {"S": f"2026-11-22T00:00:00.000+00:00#{'a' * 32}"},
    "id": {"S": "a" * 32},
    "name": {"S": "Widget"},
    "description": {"S": ""},
    "quantity": {"N": "2"},
    "created_at": {"S": "2026-11-22T00:00:00.000+00:00"},
    "updated_at": {"S": "2026-11-22T00:00:00.000+00:00"},
    "created_by": {"S": ""},
}


_QUERY = {
    "TableName": TABLE,
    "IndexName": "gsi1",
    "KeyConditionExpression": "gsi1pk = :type",
    "ExpressionAttributeValues": {":type": {"S": "ITEM"}},
    "ScanIndexForward": False,
}


@pytest.fixture
def stubbed() -> Iterator[tuple[DynamoDbItemRepository, Stubber]]:
    client = boto3.client("dynamodb", region_name="eu-west-1")
    with Stubber(client) as stubber:
        yield DynamoDbItemRepository(client, TABLE, "gsi1"), stubber
        stubber.assert_no_pending_responses()


def test_put_new_refuses_to_overwrite_an_existing_item(stubbed: tuple[DynamoDbItemRepository, Stubber]) -> None:
    repository, stubber = stubbed
    stubber.add_response(
        "put_item", {}, {"TableName": TABLE, "Item": RECORD, "ConditionExpression": "attribute_not_exists(pk)"}
    )
    repository.put_new(ITEM)


def test_get_reads_consistently_and_maps_the_record(stubbed: tuple[DynamoDbItemRepository, Stubber]) -> None:
    repository, stubber = stubbed
    stubber.add_response(
        "get_item",
        {"Item": RECORD},
        {"TableName": TABLE, "Key": {"pk": RECORD["pk"], "sk": RECORD["sk"]}, "ConsistentRead": True},
    )
    assert repository.get("a" * 32) == ITEM


def test_get_of_a_missing_item_is_none(stubbed: tuple[DynamoDbItemRepository, Stubber]) -> None:
    repository, stubber = stubbed
    stubber.add_response("get_item", {}, {"TableName": TABLE, "Key": ANY, "ConsistentRead": True})
    assert repository.get("b" * 32) is None


def test_list_queries_the_index_newest_first_and_returns_a_cursor(
    stubbed: tuple[DynamoDbItemRepository, Stubber],
) -> None:
    repository, stubber = stubbed
    last_key = {k: RECORD[k] for k in ("pk", "sk", "gsi1pk", "gsi1sk")}
    stubber.add_response(
        "query",
        {"Items": [RECORD], "LastEvaluatedKey": last_key},
        {**_QUERY, "Limit": 1},
    )
    items, returned_key = repository.list_page(1, None)
    assert items == [ITEM]
    assert returned_key == last_key


def test_list_continues_from_the_given_key(stubbed: tuple[DynamoDbItemRepository, Stubber]) -> None:
    repository, stubber = stubbed
    start = {k: RECORD[k] for k in ("pk", "sk", "gsi1pk", "gsi1sk")}
    stubber.add_response("query", {"Items": []}, {**_QUERY, "Limit": 5, "ExclusiveStartKey": start})
    assert repository.list_page(5, start) == ([], None)


def test_replace_only_overwrites_an_existing_item(stubbed: tuple[DynamoDbItemRepository, Stubber]) -> None:
    repository, stubber = stubbed
    stubber.add_response(
        "put_item", {}, {"TableName": TABLE, "Item": RECORD, "ConditionExpression": "attribute_exists(pk)"}
    )
    assert repository.replace(ITEM) is True


def test_replace_of_a_missing_item_reports_false(stubbed: tuple[DynamoDbItemRepository, Stubber]) -> None:
    repository, stubber = stubbed
    stubber.add_client_error("put_item", service_error_code="ConditionalCheckFailedException", http_status_code=400)
    assert repository.replace(ITEM) is False


def test_delete_is_conditional_on_existence(stubbed: tuple[DynamoDbItemRepository, Stubber]) -> None:
    repository, stubber = stubbed
    key = {"pk": RECORD["pk"], "sk": RECORD["sk"]}
    stubber.add_response(
        "delete_item", {}, {"TableName": TABLE, "Key": key, "ConditionExpression": "attribute_exists(pk)"}
    )
    stubber.add_client_error("delete_item", service_error_code="ConditionalCheckFailedException", http_status_code=400)
    assert repository.delete("a" * 32) is True
    assert repository.delete("a" * 32) is False


def test_throttling_becomes_storage_unavailable(stubbed: tuple[DynamoDbItemRepository, Stubber]) -> None:
    repository, stubber = stubbed
    stubber.add_client_error(
        "put_item", service_error_code="ProvisionedThroughputExceededException", http_status_code=400
    )
    with pytest.raises(StorageUnavailableError):
        repository.put_new(ITEM)


def test_throttled_delete_becomes_storage_unavailable(stubbed: tuple[DynamoDbItemRepository, Stubber]) -> None:
    repository, stubber = stubbed
    stubber.add_client_error("delete_item", service_error_code="ThrottlingException", http_status_code=400)
    with pytest.raises(StorageUnavailableError):
        repository.delete("a" * 32)


def test_a_failed_condition_is_not_mistaken_for_throttling(stubbed: tuple[DynamoDbItemRepository, Stubber]) -> None:
    repository, stubber = stubbed
    stubber.add_client_error("put_item", service_error_code="ConditionalCheckFailedException", http_status_code=400)
    with pytest.raises(Exception, match="ConditionalCheckFailed") as caught:
        repository.put_new(ITEM)
    assert not isinstance(caught.value, StorageUnavailableError)


def test_timeouts_become_storage_unavailable() -> None:
    class TimingOutClient:
        def get_item(self, **_: object) -> None:
            raise ReadTimeoutError(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com")

    with pytest.raises(StorageUnavailableError):
        DynamoDbItemRepository(TimingOutClient(), TABLE, "gsi1").get("a" * 32)


def test_the_function_client_retries_throttles_with_backoff_and_short_timeouts() -> None:
    from items_runtime.wiring.api import AWS_CLIENT_CONFIG

    retries = AWS_CLIENT_CONFIG.retries or {}
    assert retries["mode"] == "standard"
    # botocore rewrites max_attempts (retries) as total_max_attempts (attempts) once a client is built from it
    assert retries.get("max_attempts") == 3 or retries.get("total_max_attempts") == 4
    assert AWS_CLIENT_CONFIG.connect_timeout == 2
    assert AWS_CLIENT_CONFIG.read_timeout == 5

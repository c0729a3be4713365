"""Batch writes of imported items with a real boto3 DynamoDB client and responses in DynamoDB's own
shapes (botocore's Stubber checks each request and response against the service model): unprocessed
items and throttles are retried with backoff until written, and give up after the last attempt."""

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from items_runtime.data.item_writer import BATCH_ITEMS, MAX_ATTEMPTS, DynamoDbItemWriter, write_units
from items_runtime.data.items import item_record
from items_runtime.errors import StorageUnavailableError
from items_runtime.models import Item

TABLE = "items-table"


def item(n: int, description: str = "") -> Item:
    return Item(
        id=f"{n:032x}",
        name=f"item {n}",
        description=description,
        quantity=n,
        created_at="2026-11-22T10:00:00.000+00:00",
        updated_at="2026-11-22T10:00:00.000+00:00",
        created_by="owner-1",
    )


@pytest.fixture
def dynamodb() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("dynamodb", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def puts(items: list[Item]) -> list[dict[str, Any]]:
    return [{"PutRequest": {"Item": item_record(i)}} for i in items]


def test_unprocessed_items_are_written_again_after_a_jittered_backoff(dynamodb: tuple[Any, Stubber]) -> None:
    client, stubber = dynamodb
    batch = [item(n) for n in range(BATCH_ITEMS)]
    left = puts(batch[10:])
    stubber.add_response(
        "batch_write_item", {"UnprocessedItems": {TABLE: left}}, {"RequestItems": {TABLE: puts(batch)}}
    )
    stubber.add_response("batch_write_item", {"UnprocessedItems": {}}, {"RequestItems": {TABLE: left}})
    waits: list[float] = []
    DynamoDbItemWriter(client, TABLE, sleep=waits.append, jitter=lambda: 1.0).write(batch)
    assert waits == [0.1]


def test_a_throttled_batch_is_retried(dynamodb: tuple[Any, Stubber]) -> None:
    client, stubber = dynamodb
    batch = [item(1)]
    stubber.add_client_error("batch_write_item", "ProvisionedThroughputExceededException", http_status_code=400)
    stubber.add_response("batch_write_item", {}, {"RequestItems": {TABLE: puts(batch)}})
    DynamoDbItemWriter(client, TABLE, sleep=lambda _: None).write(batch)


def test_items_still_unprocessed_after_every_attempt_fail_the_chunk(dynamodb: tuple[Any, Stubber]) -> None:
    client, stubber = dynamodb
    batch = [item(1), item(2)]
    for _ in range(MAX_ATTEMPTS):
        stubber.add_response("batch_write_item", {"UnprocessedItems": {TABLE: puts(batch[1:])}}, {"RequestItems": ANY})
    waits: list[float] = []
    with pytest.raises(StorageUnavailableError, match="1 of 2 items still unprocessed"):
        DynamoDbItemWriter(client, TABLE, sleep=waits.append, jitter=lambda: 1.0).write(batch)
    # Exponential, capped: 0.1, 0.2, 0.4 ... 5 s.
    assert waits == [min(5.0, 0.05 * 2**n) for n in range(1, MAX_ATTEMPTS)]


def test_an_error_no_retry_can_fix_stops_at_once(dynamodb: tuple[Any, Stubber]) -> None:
    client, stubber = dynamodb
    stubber.add_client_error("batch_write_item", "ValidationException", http_status_code=400)
    with pytest.raises(Exception, match="ValidationException"):
        DynamoDbItemWriter(client, TABLE, sleep=lambda _: None).write([item(1)])


def test_an_item_costs_one_write_unit_per_kilobyte_rounded_up() -> None:
    small = item_record(item(1))
    assert write_units(small) == 1
    fixed = sum(len(k) + len(v.get("S", "")) for k, v in small.items()) + 2
    assert write_units(item_record(item(1, "d" * (1024 - fixed)))) == 1
    assert write_units(item_record(item(1, "d" * (1024 - fixed + 1)))) == 2
    assert write_units(item_record(item(1, "é" * 1000))) == 3  # two bytes a character in UTF-8

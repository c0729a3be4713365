"""The items API end to end through the real handler, real boto3 and the emulated DynamoDB and
Secrets Manager: CRUD, signed pagination, idempotent creates, throttling faults."""

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tools.emulator import ItemsResources, client
from tools.events import FakeLambdaContext, rest_event

CALLER = {"sub": "integration-user"}
ITEM = "/items/{item_id}"


def call(handler: Any, method: str, path: str, **kwargs: Any) -> tuple[int, Any, dict[str, str]]:
    kwargs.setdefault("claims", CALLER)
    response = handler.lambda_handler(rest_event(method, path, **kwargs), FakeLambdaContext())
    headers = {k: v[-1] for k, v in (response.get("multiValueHeaders") or {}).items()}
    return response["statusCode"], json.loads(response["body"]) if response.get("body") else None, headers


def on_item(handler: Any, method: str, item_id: str, body: Any = None) -> tuple[int, Any, dict[str, str]]:
    return call(handler, method, f"/items/{item_id}", resource=ITEM, path_parameters={"item_id": item_id}, body=body)


def test_an_item_lives_its_whole_life_in_the_table(items_handler: Any, items_resources: ItemsResources) -> None:
    status, created, _ = call(items_handler, "POST", "/items", body={"name": "Widget", "quantity": 2})
    assert status == 201
    record = client("dynamodb", items_resources.endpoint).get_item(
        TableName=items_resources.table_name, Key={"pk": {"S": f"ITEM#{created['id']}"}, "sk": {"S": "ITEM"}}
    )["Item"]
    assert record["quantity"] == {"N": "2"}
    assert record["created_by"] == {"S": "integration-user"}
    assert on_item(items_handler, "GET", created["id"])[1] == created
    status, replaced, _ = on_item(items_handler, "PUT", created["id"], {"name": "Gadget", "quantity": 3})
    assert (status, replaced["name"]) == (200, "Gadget")
    assert on_item(items_handler, "DELETE", created["id"])[0] == 204
    assert on_item(items_handler, "GET", created["id"])[0] == 404


def test_the_list_index_pages_newest_first_with_cursors_signed_by_the_stack_secret(items_handler: Any) -> None:
    ids = [call(items_handler, "POST", "/items", body={"name": f"page-{n}"})[1]["id"] for n in range(3)]
    seen: list[str] = []
    token, pages = None, 0
    while True:
        query = {"limit": "2", **({"next_token": token} if token else {})}
        status, page, _ = call(items_handler, "GET", "/items", query=query)
        assert status == 200
        pages += 1
        seen += [item["id"] for item in page["items"]]
        token = page["next_token"]
        # The newest items come first: paging on through the rest of the shared table (imports put
        # thousands there) would only cost time.
        if not token or set(ids) <= set(seen):
            break
    assert pages >= 2, "the cursor was followed"
    assert set(ids) <= set(seen)
    newest_first = [i for i in seen if i in ids]
    assert newest_first == list(reversed(ids))


def test_a_retried_create_with_the_same_key_writes_one_item(
    items_handler: Any, items_resources: ItemsResources
) -> None:
    key = {"Idempotency-Key": "integration-retry-0001"}
    first = call(items_handler, "POST", "/items", body={"name": "Once"}, headers=key)
    second = call(items_handler, "POST", "/items", body={"name": "Once"}, headers=key)
    assert first[0] == second[0] == 201
    assert first[1]["id"] == second[1]["id"]
    records = client("dynamodb", items_resources.endpoint).scan(TableName=items_resources.idempotency_table_name)[
        "Items"
    ]
    assert any(r["status"]["S"] == "COMPLETED" for r in records), "Powertools kept the result in the idempotency table"


def test_a_reused_key_with_another_body_is_refused(items_handler: Any) -> None:
    key = {"Idempotency-Key": "integration-reuse-0001"}
    call(items_handler, "POST", "/items", body={"name": "First"}, headers=key)
    status, body, _ = call(items_handler, "POST", "/items", body={"name": "Second"}, headers=key)
    assert status == 422
    assert "different request body" in body["message"]


def test_a_throttled_table_answers_503_and_writes_nothing(
    items_handler: Any, items_resources: ItemsResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    from items_runtime.wiring import api as dependencies

    dynamodb = dependencies._dynamodb()

    def stored() -> int:
        # moto counts a table's items live (AWS refreshes ItemCount every few hours); a scan of the
        # shared table, which imports fill with thousands of items, would cost seconds.
        table = client("dynamodb", items_resources.endpoint).describe_table(TableName=items_resources.table_name)
        return int(table["Table"]["ItemCount"])

    before = stored()

    def throttle(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "Rate exceeded"}}, "PutItem"
        )

    monkeypatch.setattr(dynamodb, "put_item", throttle)
    status, body, headers = call(items_handler, "POST", "/items", body={"name": "Throttled"})
    assert status == 503
    assert headers["Retry-After"] == "1"
    assert body == {"message": "the service is busy, retry later"}
    assert stored() == before


def test_the_emulated_tables_are_the_ones_the_template_defines(items_resources: ItemsResources) -> None:
    description = client("dynamodb", items_resources.endpoint).describe_table(TableName=items_resources.table_name)[
        "Table"
    ]
    assert [k["AttributeName"] for k in description["KeySchema"]] == ["pk", "sk"]
    assert description["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    (index,) = description["GlobalSecondaryIndexes"]
    assert index["IndexName"] == items_resources.list_index_name
    ttl = client("dynamodb", items_resources.endpoint).describe_time_to_live(
        TableName=items_resources.idempotency_table_name
    )["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expiration"

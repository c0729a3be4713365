"""The journey of a user of the API, after every deployment, as the stage's test identity: through the
Cognito authorizer (access token and scopes), the usage plan's API key, the function, the tables and
their keys, and for uploads the staging bucket, EventBridge, the queue and the worker. Everything a test
creates carries the run's marker and is deleted afterwards, even when a step fails. Prod runs only what
is not marked `not_in_prod`: reads, and one marked item created and deleted."""

import urllib.request
from typing import Any

import pytest

from tests.e2e.conftest import Api, HttpResponse, send
from tests.e2e.journey import INGEST_WAIT_SECONDS, LIST_WAIT_SECONDS, Identity, Ledger, eventually

NOT_IN_PROD = pytest.mark.not_in_prod


def _create(api: Api, identity: Identity, ledger: Ledger, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    response = api.request("POST", "/items", body, headers=headers, session=identity.session())
    assert response.status == 201, response.body
    item: dict[str, Any] = response.json()
    ledger.created(item["id"])
    return item


def _read(api: Api, identity: Identity, item_id: str) -> HttpResponse:
    """A read through a new session: it sees the latest write, never a cached answer."""
    return api.request("GET", f"/items/{item_id}", session=identity.session())


def test_a_valid_token_without_the_api_key_is_refused(api: Api, identity: Identity) -> None:
    if not identity.has_api_key:
        pytest.skip("this identity has no API key (the local API requires none)")
    without_key = {k: v for k, v in identity.session().headers.items() if k != "X-Api-Key"}
    response = api.request("GET", "/items", headers=without_key)
    assert response.status == 403, response.body


def test_the_newest_items_can_be_listed(api: Api, identity: Identity) -> None:
    response = api.request("GET", "/items?limit=5", session=identity.session())
    assert response.status == 200, response.body
    page = response.json()
    assert len(page["items"]) <= 5
    assert all({"id", "name", "created_at"} <= set(item) for item in page["items"])


def test_a_marked_item_is_created_once_read_listed_and_deleted(api: Api, identity: Identity, ledger: Ledger) -> None:
    body = {"name": ledger.name("item"), "description": "created and deleted by the post-deploy tests", "quantity": 1}
    key = ledger.prefix.replace(" ", ".")
    item = _create(api, identity, ledger, body, **{"Idempotency-Key": key})
    retry = api.request("POST", "/items", body, headers={"Idempotency-Key": key}, session=identity.session())
    assert (retry.status, retry.json()) == (201, item), "a retry with the same key gets the first answer"

    read = _read(api, identity, item["id"])
    assert (read.status, read.json()) == (200, item)
    listed = eventually(
        lambda: ledger.marked_items(identity.session()),
        lambda seen: bool(seen),
        within=LIST_WAIT_SECONDS,
        what="the item in the list",
    )
    assert [i["id"] for i in listed] == [item["id"]], "listed once: the retry created nothing"

    deleted = api.request("DELETE", f"/items/{item['id']}", session=identity.session())
    assert deleted.status == 204, deleted.body
    ledger.deleted(item["id"])
    gone = _read(api, identity, item["id"])
    assert gone.status == 404
    assert "message" in gone.json()


@NOT_IN_PROD
def test_an_item_can_be_replaced(api: Api, identity: Identity, ledger: Ledger) -> None:
    item = _create(api, identity, ledger, {"name": ledger.name("before"), "quantity": 1})
    change = {"name": ledger.name("after"), "description": "replaced", "quantity": 7}
    replaced = api.request("PUT", f"/items/{item['id']}", change, session=identity.session())
    assert replaced.status == 200, replaced.body

    stored = _read(api, identity, item["id"]).json()
    assert {k: stored[k] for k in change} == change
    assert stored["created_at"] == item["created_at"]
    assert stored["updated_at"] >= item["updated_at"]


@NOT_IN_PROD
def test_an_uploaded_csv_is_imported_and_its_items_can_be_read(api: Api, identity: Identity, ledger: Ledger) -> None:
    started = api.request("POST", "/ingest", {"format": "csv"}, session=identity.session())
    assert started.status == 201, started.body
    ticket = started.json()
    rows = [(ledger.name("first"), 3), (ledger.name("second"), 4)]
    csv = "name,description,quantity\n" + "".join(f"{name},imported by the post-deploy tests,{n}\n" for name, n in rows)
    upload = ticket["upload"]
    ledger.uploading(ticket["id"])
    sent = send(urllib.request.Request(upload["url"], data=csv.encode(), method="PUT", headers=upload["headers"]))
    assert sent.status == 200, sent.body

    session = identity.session()  # upload statuses are never cached
    job = eventually(
        lambda: api.request("GET", f"/ingest/{ticket['id']}", session=session).json(),
        lambda seen: seen["status"] not in ("PENDING", "VALIDATING", "IMPORTING"),
        within=INGEST_WAIT_SECONDS,
        what="the upload to be processed",
    )
    assert (job["status"], job["records"], job["imported"]) == ("ACCEPTED", 2, 2), job

    imported = eventually(
        lambda: ledger.marked_items(identity.session()),
        lambda seen: len(seen) == 2,
        within=LIST_WAIT_SECONDS,
        what="the imported items in the list",
    )
    for listed in imported:
        ledger.created(listed["id"])
    first = next(i for i in imported if i["name"] == rows[0][0])
    read = _read(api, identity, first["id"])
    assert read.status == 200, read.body
    assert (read.json()["name"], read.json()["quantity"]) == rows[0]

"""POST /ingest and GET /ingest/{id} through the real handler with API Gateway events, an in-memory job
store and a recording URL signer."""

from collections.abc import Iterator
from typing import Any

import pytest

from items_runtime.settings import api_settings
from items_runtime.wiring import api as dependencies
from tests.unit.fakes import InMemoryIdempotencyStore, InMemoryJobStore
from tests.unit.test_items_api import CALLER, invoke
from tools.events import rest_event

JOB_RESOURCE = "/ingest/{ingest_id}"


class World:
    def __init__(self) -> None:
        self.jobs = InMemoryJobStore()
        self.signed: list[tuple[str, str, int]] = []

    def sign(self, key: str, content_type: str, expires_in: int) -> str:
        self.signed.append((key, content_type, expires_in))
        return f"https://dev-items-staging.s3.eu-west-1.amazonaws.com/{key}?X-Amz-Signature=fake"


@pytest.fixture
def world() -> Iterator[World]:
    api_settings.cache_clear()  # other tests run with other limits
    state = World()
    dependencies.use(ingest_jobs=state.jobs, upload_signer=state.sign, idempotency_store=InMemoryIdempotencyStore())
    yield state
    dependencies.use()
    api_settings.cache_clear()


def start(body: Any, headers: dict[str, str] | None = None, claims: dict[str, str] | None = CALLER) -> Any:
    return invoke(rest_event("POST", "/ingest", body=body, claims=claims, headers=headers))


def status(ingest_id: str, claims: dict[str, str] | None = CALLER) -> Any:
    return invoke(
        rest_event(
            "GET",
            f"/ingest/{ingest_id}",
            resource=JOB_RESOURCE,
            path_parameters={"ingest_id": ingest_id},
            claims=claims,
        )
    )


def test_starting_an_upload_records_a_pending_job_and_signs_one_key(world: World) -> None:
    code, ticket, headers = start({"format": "csv"})
    assert code == 201
    assert headers["Location"] == f"/ingest/{ticket['id']}"
    assert world.signed == [(f"uploads/{ticket['id']}", "text/csv", 900)]
    assert ticket["upload"]["method"] == "PUT"
    assert ticket["upload"]["headers"] == {"Content-Type": "text/csv"}
    assert ticket["limits"] == {"max_bytes": 1048576, "max_records": 99}
    job = world.jobs.get(ticket["id"])
    assert (job.status, job.format, job.created_by) == ("PENDING", "csv", CALLER["sub"])
    assert ticket["upload"]["expires_at"] == job.upload_expires_at > job.created_at


def test_json_lines_is_the_default_format(world: World) -> None:
    _, ticket, _ = start({})
    assert ticket["upload"]["headers"] == {"Content-Type": "application/x-ndjson"}


@pytest.mark.parametrize("body", [{"format": "xml"}, {"format": "csv", "extra": 1}, [], "csv"], ids=str)
def test_an_invalid_request_is_refused_and_nothing_is_recorded(world: World, body: Any) -> None:
    code, answer, _ = start(body)
    assert code == 422
    assert answer["message"] == "request validation failed"
    assert world.jobs.jobs == {}


def test_a_retried_start_with_the_same_key_returns_the_same_upload(world: World) -> None:
    key = {"Idempotency-Key": "ingest-retry-0001"}
    first, second = start({}, key), start({}, key)
    assert first[1]["id"] == second[1]["id"]
    assert len(world.jobs.jobs) == 1


def test_the_status_of_an_upload_is_readable_by_its_owner_only(world: World) -> None:
    _, ticket, _ = start({})
    code, job, _ = status(ticket["id"])
    assert (code, job["status"], job["id"]) == (200, "PENDING", ticket["id"])
    code, answer, _ = status(ticket["id"], claims={"sub": "someone-else"})
    assert (code, answer["message"]) == (404, f"ingest {ticket['id']} not found")


def test_an_upload_never_made_is_reported_expired_after_the_url_expires(world: World) -> None:
    _, ticket, _ = start({})
    job = world.jobs.jobs[ticket["id"]]
    world.jobs.jobs[ticket["id"]] = job.model_copy(update={"upload_expires_at": "2000-01-01T00:00:00.000+00:00"})
    assert status(ticket["id"])[1]["status"] == "EXPIRED"


@pytest.mark.parametrize("ingest_id", ["not-hex", "A" * 32, "0" * 31], ids=str)
def test_a_malformed_id_is_refused(world: World, ingest_id: str) -> None:
    assert status(ingest_id)[0] == 422


def test_unknown_ids_are_not_found(world: World) -> None:
    assert status("0" * 32)[0] == 404


def test_ingest_routes_need_a_verified_caller(world: World) -> None:
    assert start({}, claims=None)[0] == 401
    assert status("0" * 32, claims=None)[0] == 401

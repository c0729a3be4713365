"""What must hold right after a deployment, in every environment."""

from tests.e2e.conftest import Api

# Without a token API Gateway answers 401 (Cognito authorizer); where the stage also requires an API
# key, a request without one may be refused with 403 first. Either way nothing reaches the function.
REFUSED = (401, 403)


def test_health_answers_ok(api: Api) -> None:
    response = api.request("GET", "/health")
    assert response.status == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["content-type"].startswith("application/json")


def test_items_cannot_be_listed_without_a_token(api: Api) -> None:
    assert api.request("GET", "/items").status in REFUSED


def test_items_cannot_be_created_without_a_token(api: Api) -> None:
    assert api.request("POST", "/items", body={"name": "smoke"}).status in REFUSED


def test_items_cannot_be_deleted_without_a_token(api: Api) -> None:
    assert api.request("DELETE", f"/items/{'0' * 32}").status in REFUSED


def test_a_forged_token_is_refused(api: Api) -> None:
    response = api.request("GET", "/items", headers={"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."})
    assert response.status in REFUSED


def test_an_unknown_route_is_a_client_error(api: Api) -> None:
    assert 400 <= api.request("GET", "/no-such-route").status < 500


def test_uploads_cannot_be_started_without_a_token(api: Api) -> None:
    assert api.request("POST", "/ingest", body={"format": "csv"}).status in REFUSED


def test_upload_status_cannot_be_read_without_a_token(api: Api) -> None:
    assert api.request("GET", f"/ingest/{'0' * 32}").status in REFUSED

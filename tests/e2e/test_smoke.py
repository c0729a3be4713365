"""What must hold right after a deployment, in every environment."""

from tests.e2e.conftest import Api


def test_health_answers_ok(api: Api) -> None:
    response = api.request("GET", "/health")
    assert response.status == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["content-type"].startswith("application/json")


def test_items_cannot_be_listed_without_a_token(api: Api) -> None:
    assert api.request("GET", "/items").status == 401


def test_items_cannot_be_created_without_a_token(api: Api) -> None:
    assert api.request("POST", "/items", body={"name": "smoke"}).status == 401


def test_a_forged_token_is_refused(api: Api) -> None:
    response = api.request("GET", "/items", headers={"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."})
    assert response.status in (401, 403)


def test_an_unknown_route_is_a_client_error(api: Api) -> None:
    assert 400 <= api.request("GET", "/no-such-route").status < 500

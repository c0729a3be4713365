"""`make local-api`: the items REST API on 127.0.0.1 — HTTP requests become API Gateway (REST, proxy)
events for the real handler, a local bearer token stands in for Cognito, and the handler's AWS calls go
to moto in server mode, whose tables and secret come from the synthesized dev template (cdk.out)."""

import contextlib
import json
import os
import re
import secrets
import sys
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
RUNTIME_DIR = Path(__file__).resolve().parent / "runtime"
STAGE = "api"
LOCAL_CLAIMS = {"sub": "local-user", "email": "local-user@example.com", "token_use": "id"}
# The API Gateway resources of the items API, in match order.
RESOURCES = [
    ("/health", re.compile(r"/health"), False),
    ("/items/{item_id}", re.compile(r"/items/(?P<item_id>[^/]+)"), True),
    ("/items", re.compile(r"/items"), True),
]
LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


class LocalContext:
    function_name = "items-local"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:111111111111:function:items-local"
    log_group_name = "/aws/lambda/items-local"
    log_stream_name = "local"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def proxy_event(method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[dict[str, Any] | None, bool]:
    """(event, needs_auth), or (None, False) when no resource matches."""
    parts = urlsplit(target)
    path = parts.path.removeprefix(f"/{STAGE}") or "/"
    found = next(((r, p.fullmatch(path), needs) for r, p, needs in RESOURCES if p.fullmatch(path)), None)
    if found is None:
        return None, False
    resource, match, protected = found
    assert match is not None
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    event: dict[str, Any] = {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} or None,
        "pathParameters": match.groupdict() or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/{STAGE}{path}",
            "stage": STAGE,
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "127.0.0.1", "userAgent": headers.get("User-Agent", "")},
        },
        "body": body.decode("utf-8", errors="replace") if body else None,
        "isBase64Encoded": False,
    }
    return event, protected


def make_server(
    lambda_handler: LambdaHandler, token: str, host: str = "127.0.0.1", port: int = 0
) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k: v for k, v in self.headers.items()}
            event, protected = proxy_event(self.command, self.path, headers, body)
            if event is None:  # what API Gateway answers for a path it does not know
                return self._answer(
                    403, {"Content-Type": "application/json"}, json.dumps({"message": "Missing Authentication Token"})
                )
            if protected and self.command != "OPTIONS":
                if headers.get("Authorization", "").removeprefix("Bearer ").strip() != token:
                    return self._answer(
                        401, {"Content-Type": "application/json"}, json.dumps({"message": "Unauthorized"})
                    )
                event["requestContext"]["authorizer"] = {
                    "claims": dict(LOCAL_CLAIMS),
                    "principalId": LOCAL_CLAIMS["sub"],
                }
            response = lambda_handler(event, LocalContext())
            out_headers = {k: v[-1] for k, v in (response.get("multiValueHeaders") or {}).items()}
            out_headers.update(response.get("headers") or {})
            self._answer(response["statusCode"], out_headers, response.get("body") or "")

        def _answer(self, status: int, headers: dict[str, str], body: str) -> None:
            payload = body.encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:
            sys.stderr.write(f"local-api {self.command} {self.path} -> {args[1] if len(args) > 1 else ''}\n")

    return ThreadingHTTPServer((host, port), Handler)


def main() -> int:
    from services.platform.emulator import REGION, create_items_resources, start_moto

    templates = sorted((REPO_ROOT / "cdk.out").glob("assembly-Pipeline-dev/*.template.json"))
    if not templates:
        print("cdk.out has no dev stage: run `make synth` first", file=sys.stderr)
        return 1
    moto, endpoint = start_moto()
    try:
        resources = create_items_resources(endpoint, json.loads(templates[0].read_text(encoding="utf-8")))
        os.environ.update(
            AWS_ENDPOINT_URL=endpoint,
            AWS_DEFAULT_REGION=REGION,
            AWS_ACCESS_KEY_ID="local",
            AWS_SECRET_ACCESS_KEY="local",  # noqa: S106 - the emulator accepts any credentials
            TABLE_NAME=resources.table_name,
            LIST_INDEX_NAME=resources.list_index_name,
            IDEMPOTENCY_TABLE_NAME=resources.idempotency_table_name,
            PAGINATION_SECRET_ARN=resources.pagination_secret_arn,
            POWERTOOLS_TRACE_DISABLED="true",
            POWERTOOLS_SERVICE_NAME="items",
            POWERTOOLS_METRICS_NAMESPACE="Local",
            CORS_ALLOWED_ORIGINS="http://localhost:3000",
        )
        sys.path.insert(0, str(RUNTIME_DIR))
        from items_api.handler import lambda_handler  # type: ignore[import-not-found]

        token = os.environ.get("LOCAL_API_TOKEN") or secrets.token_urlsafe(24)
        server = make_server(lambda_handler, token, port=int(os.environ.get("PORT", "8080")))
        host, port = server.server_address[:2]
        print(f"items API on http://{host!s}:{port}/{STAGE}/  (AWS emulated at {endpoint})")
        print(f"send: Authorization: Bearer {token}")
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
        return 0
    finally:
        moto.terminate()


if __name__ == "__main__":
    sys.exit(main())

"""`make local-api`: the items REST API on 127.0.0.1 — HTTP requests become API Gateway (REST, proxy)
events for the real handler, a local bearer token stands in for Cognito, and the handler's AWS calls go
to moto in server mode, whose tables, secret, staging bucket, queues and upload rule come from the
synthesized dev template (cdk.out). Background threads stand in for Lambda's SQS event sources: one
feeds the ingest queue to the real worker handler, one the import queue to the real importer (one
chunk at a time: Lambda runs up to the event source's maximum concurrency of them), so uploads to the
presigned URLs are imported, at the pace the emulated table's capacity allows."""

import contextlib
import json
import os
import re
import secrets
import sys
import threading
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tools.lambda_assets import make_importable

REPO_ROOT = Path(__file__).resolve().parent.parent
STAGE = "api"
LOCAL_CLAIMS = {"sub": "local-user", "email": "local-user@example.com", "token_use": "id"}
# The API Gateway resources of the items API, in match order.
RESOURCES = [
    ("/health", re.compile(r"/health"), False),
    ("/items/{item_id}", re.compile(r"/items/(?P<item_id>[^/]+)"), True),
    ("/items", re.compile(r"/items"), True),
    ("/ingest/{ingest_id}", re.compile(r"/ingest/(?P<ingest_id>[^/]+)"), True),
    ("/ingest", re.compile(r"/ingest"), True),
]
POLL_SECONDS = 0.25
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
        return 60_000


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


Feed = tuple[str, LambdaHandler, int]  # queue URL, handler, batch size


def start_workers(endpoint: str, feeds: list[Feed]) -> Callable[[], None]:
    """Poll each queue and hand each batch to its handler, as Lambda's SQS event sources do (one
    thread per feed); returns a function that stops the polling."""
    from tools.emulator import poll_queue_once

    stop = threading.Event()

    def poll(queue_url: str, handler: LambdaHandler, batch_size: int) -> None:
        while not stop.is_set():
            try:
                handled = poll_queue_once(endpoint, queue_url, handler, LocalContext(), batch_size)
            except Exception as error:
                sys.stderr.write(f"local-api worker: {error!r}\n")
                handled = 0
            if not handled:
                stop.wait(POLL_SECONDS)

    threads = [
        threading.Thread(target=poll, args=feed, name=f"event-source-{n}", daemon=True) for n, feed in enumerate(feeds)
    ]
    for thread in threads:
        thread.start()

    def halt() -> None:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)

    return halt


def function_environment(resources: Any, endpoint: str) -> dict[str, str]:
    """The functions' environments from the template (they agree on every shared name), pointed at
    the emulator."""
    from tools.emulator import client_environment

    return {
        **resources.importer_environment,
        **resources.worker_environment,
        **resources.api_environment,
        **client_environment(endpoint),
    }


def main() -> int:
    from tools.emulator import create_items_resources, start_moto

    templates = sorted((REPO_ROOT / "cdk.out").glob("assembly-Pipeline-dev/*.template.json"))
    if not templates:
        print("cdk.out has no dev stage: run `make synth` first", file=sys.stderr)
        return 1
    moto, endpoint = start_moto()
    try:
        resources = create_items_resources(endpoint, json.loads(templates[0].read_text(encoding="utf-8")))
        os.environ.update(function_environment(resources, endpoint))
        make_importable()
        from items_runtime.api import lambda_handler
        from items_runtime.importer import lambda_handler as importer_handler
        from items_runtime.worker import lambda_handler as worker_handler

        sizes = resources.batch_sizes
        stop_worker = start_workers(
            endpoint,
            [
                (resources.ingest_queue_url, worker_handler, sizes[resources.ingest_queue_url]),
                (resources.import_queue_url, importer_handler, sizes[resources.import_queue_url]),
            ],
        )
        token = os.environ.get("LOCAL_API_TOKEN") or secrets.token_urlsafe(24)
        server = make_server(lambda_handler, token, port=int(os.environ.get("PORT", "8080")))
        host, port = server.server_address[:2]
        print(f"items API on http://{host!s}:{port}/{STAGE}/  (AWS emulated at {endpoint})")
        print(f"send: Authorization: Bearer {token}")
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
        stop_worker()
        return 0
    finally:
        moto.terminate()


if __name__ == "__main__":
    sys.exit(main())

"""`make local-api`: the items REST API on 127.0.0.1 — behind API Gateway's front door as the dev template
defines it (tools/gateway.py: methods, authorizer, API key, request validation, CORS preflight, limits),
HTTP requests become API Gateway (REST, proxy) events for the real handler, a local bearer token stands in
for Cognito and a local key for the usage plan's API key, and the handler's AWS calls go
to moto in server mode, whose tables, secret, staging bucket, queues and upload rule come from the
synthesized dev template (cdk.out). Background threads stand in for Lambda's SQS event sources: one
feeds the ingest queue to the real worker handler, one the import queue to the real importer (one
chunk at a time: Lambda runs up to the event source's maximum concurrency of them), so uploads to the
presigned URLs are imported, at the pace the emulated table's capacity allows."""

import contextlib
import json
import os
import secrets
import sys
import threading
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tools import gateway
from tools.lambda_assets import make_importable

REPO_ROOT = Path(__file__).resolve().parent.parent
STAGE = "api"
# What API Gateway passes on for a machine client's access token with both items scopes.
LOCAL_CLAIMS = {
    "sub": "local-client",
    "client_id": "local-client",
    "token_use": "access",
    "scope": "items/read items/write",
}
# How long the worker thread waits after finding the queue empty.
POLL_SECONDS = 0.2
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


def proxy_event(
    method: str,
    resource: str,
    path: str,
    headers: list[tuple[str, str]],
    query: list[tuple[str, str]],
    path_parameters: dict[str, str],
    body: bytes,
) -> dict[str, Any]:
    """The REST proxy event API Gateway sends: single-value maps hold the last value of a repeated header
    or query parameter, the multi-value maps every value."""
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        multi_headers.setdefault(name, []).append(value)
    multi_query: dict[str, list[str]] = {}
    for name, value in query:
        multi_query.setdefault(name, []).append(value)
    single_headers = {k: v[-1] for k, v in multi_headers.items()}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": single_headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/{STAGE}{path}",
            "stage": STAGE,
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "127.0.0.1", "userAgent": single_headers.get("User-Agent", "")},
        },
        "body": body.decode("utf-8", errors="replace") if body else None,
        "isBase64Encoded": False,
    }


def make_server(
    lambda_handler: LambdaHandler,
    token: str,
    template: dict[str, Any],
    *,
    api_key: str,
    host: str = "127.0.0.1",
    port: int = 0,
) -> ThreadingHTTPServer:
    """The items API behind the API Gateway front door the template defines (tools/gateway.py)."""
    resources = gateway.resources_from_template(template)

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            head = len(self.requestline) + sum(len(k) + len(v) for k, v in self.headers.items())
            if head > gateway.MAX_HEADER_BYTES:
                return self._send(gateway.Answer.error(431, "Request Header Fields Too Large"))
            length = int(self.headers.get("Content-Length") or 0)
            if length > gateway.MAX_PAYLOAD_BYTES:
                self.close_connection = True
                return self._send(gateway.Answer.error(413, "Request Entity Too Large"))
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            path = parts.path.removeprefix(f"/{STAGE}") or "/"
            found = gateway.match(resources, path)
            method = found[0].methods.get(self.command) if found else None
            if found is None or method is None:  # unknown paths and methods alike, HEAD and TRACE included
                return self._send(gateway.Answer.error(403, gateway.NO_SUCH_METHOD_MESSAGE))
            resource, path_parameters = found
            if method.mock is not None:
                return self._send(method.mock)
            query = parse_qsl(parts.query, keep_blank_values=True)
            headers = list(self.headers.items())
            multi_query: dict[str, list[str]] = {}
            for name, value in query:
                multi_query.setdefault(name, []).append(value)
            refused = gateway.refuse(
                method,
                headers=dict(headers),
                query=multi_query,
                path_parameters=path_parameters,
                body=body,
                token=token,
                api_key=api_key,
            )
            if refused is not None:
                return self._send(refused)
            event = proxy_event(self.command, resource.path, path, headers, query, path_parameters, body)
            if method.authorized:
                event["requestContext"]["authorizer"] = {
                    "claims": dict(LOCAL_CLAIMS),
                    "principalId": LOCAL_CLAIMS["sub"],
                }
            response = lambda_handler(event, LocalContext())
            out_headers = {k: v[-1] for k, v in (response.get("multiValueHeaders") or {}).items()}
            out_headers.update(response.get("headers") or {})
            self._send(gateway.Answer(response["statusCode"], out_headers, response.get("body") or ""))

        def _send(self, answer: gateway.Answer) -> None:
            payload = b"" if self.command == "HEAD" else answer.body.encode()
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def __getattr__(self, name: str) -> Any:
            # Every method a client may send (HEAD, TRACE, anything) reaches the front door, as in API Gateway.
            if name.startswith("do_"):
                return self._serve
            raise AttributeError(name)

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
    template = json.loads(templates[0].read_text(encoding="utf-8"))
    moto, endpoint = start_moto()
    try:
        resources = create_items_resources(endpoint, template)
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
        api_key = os.environ.get("LOCAL_API_KEY") or secrets.token_urlsafe(24)
        server = make_server(lambda_handler, token, template, api_key=api_key, port=int(os.environ.get("PORT", "8080")))
        host, port = server.server_address[:2]
        print(f"items API on http://{host!s}:{port}/{STAGE}/  (AWS emulated at {endpoint})")
        print(f"send: Authorization: Bearer {token}")
        print(f"      X-Api-Key: {api_key}")
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
        stop_worker()
        return 0
    finally:
        moto.terminate()


if __name__ == "__main__":
    sys.exit(main())

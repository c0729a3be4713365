"""The AWS endpoints the deployment hooks call, emulated for the bench: moto serves CloudWatch but has
no PutLifecycleEventHookExecutionStatus and runs Lambda functions only in Docker, so CodeDeploy's two
operations the hooks use and Lambda's Invoke are answered here, in their real wire protocols
(CodeDeploy: JSON 1.1 with X-Amz-Target; Lambda: REST-JSON), for the real boto3 clients."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        target = self.headers.get("X-Amz-Target", "")
        if target.startswith("CodeDeploy_20141006."):
            self._codedeploy(target.split(".", 1)[1], json.loads(body or b"{}"))
        elif INVOKE_PATH.match(self.path):
            event = self.headers.get("X-Amz-Invocation-Type") == "Event"
            self.server.calls.append(("lambda", "Invoke"))
            self._answer(202 if event else 200, b"" if event else json.dumps(self.server.invoke_answer).encode())
        else:
            self._answer(404, json.dumps({"message": f"not emulated: {self.path} {target}"}).encode())

    def _codedeploy(self, operation: str, request: dict[str, Any]) -> None:
        self.server.calls.append(("codedeploy", operation))
        if operation == "GetDeployment":
            info = {
                "deploymentId": request["deploymentId"],
                "deploymentGroupName": self.server.group,
                "status": "InProgress",
            }
            self._answer(200, json.dumps({"deploymentInfo": info}).encode(), json_11=True)
        elif operation == "PutLifecycleEventHookExecutionStatus":
            answer = {"lifecycleEventHookExecutionId": request["lifecycleEventHookExecutionId"]}
            self._answer(200, json.dumps(answer).encode(), json_11=True)
        else:
            self._answer(400, json.dumps({"__type": "UnknownOperationException"}).encode(), json_11=True)

    def _answer(self, status: int, body: bytes, json_11: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1" if json_11 else "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, group: str, invoke_answer: dict[str, Any]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.group = group
        self.invoke_answer = invoke_answer
        self.calls: list[tuple[str, str]] = []


@contextmanager
def hook_endpoints(group: str, invoke_answer: dict[str, Any]) -> Iterator[_Server]:
    """CodeDeploy (a deployment of `group`, in progress) and Lambda (every synchronous invoke answers
    `invoke_answer`) on one local port; its URL is `http://127.0.0.1:<server.server_port>`."""
    server = _Server(group, invoke_answer)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(timeout=10)

"""What each cold start serves, prepared once per bench run: the handler of each variant (ours, the
bare boto3 limit making the same calls, the usual Powertools peer), its environment and its event.

The items functions (the API, the ingest worker, the importer) run over the emulated AWS built from the
synthesized dev template (tools/emulator.py) with the environment that template gives them, so the bench
cannot drift from what is deployed. The
deployment hooks call CodeDeploy and Lambda on tools/bench/cold_start/endpoints.py and CloudWatch on moto."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.emulator import ItemsResources, client, client_environment, set_write_capacity
from tools.events import rest_event
from tools.lambda_assets import ASSET_DIRS, REPO_ROOT
from tools.local_api import function_environment

ITEM_ID = "0123456789abcdef0123456789abcdef"
VARIANTS = ("ours", "limit", "peer")
GROUP = "items-bench-group"
ALARMS = ["items-bench-errors", "items-bench-throttles"]
HOOK_EVENT = {"DeploymentId": "d-BENCH0001", "LifecycleEventHookExecutionId": "bench-execution-1"}
PROBE = rest_event("GET", "/health", resource="/health")


@dataclass(frozen=True)
class Scenario:
    name: str
    function_name: str
    handlers: dict[str, str]  # variant -> "module:attribute"
    environment: dict[str, str]
    # A fresh event for each cold start (an upload, once imported, is not imported again).
    event: Callable[[int], dict[str, Any]]
    expect: dict[str, Any]
    paths: list[str] = field(default_factory=lambda: [*map(str, ASSET_DIRS), str(REPO_ROOT)])

    def write(self, directory: Path, repetition: int) -> Path:
        """The scenario file measure.py reads for one cold start."""
        path = directory / f"{self.function_name}-{repetition}.json"
        document = {
            "paths": self.paths,
            "handlers": self.handlers,
            "function_name": self.function_name,
            "event": self.event(repetition),
            "expect": self.expect,
        }
        path.write_text(json.dumps(document), encoding="utf-8")
        return path


def lambda_environment(function_name: str) -> dict[str, str]:
    """The variables Lambda itself sets (the X-Ray SDK acts as in Lambda when it sees LAMBDA_TASK_ROOT;
    segments go to a daemon address nothing reads)."""
    return {
        "LAMBDA_TASK_ROOT": str(REPO_ROOT),
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "AWS_REGION": "eu-west-1",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        "_X_AMZN_TRACE_ID": "Root=1-5e1b4151-5ac6c58f5e5b7e0a7f1b2c3d;Parent=53995c3f42cd8ad8;Sampled=1",
    }


def base_environment() -> dict[str, str]:
    """This interpreter's environment without anything AWS or Powertools (the scenario sets those)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_", "_X_AMZN"))}


def items_api(resources: ItemsResources) -> Scenario:
    """GET /items/{id} of one stored item: the API function's commonest request."""
    client("dynamodb", resources.endpoint).put_item(
        TableName=resources.table_name,
        Item={
            "pk": {"S": f"ITEM#{ITEM_ID}"},
            "sk": {"S": "ITEM"},
            "id": {"S": ITEM_ID},
            "name": {"S": "bench"},
            "description": {"S": ""},
            "quantity": {"N": "1"},
            "created_at": {"S": "2026-11-22T00:00:00.000+00:00"},
            "updated_at": {"S": "2026-11-22T00:00:00.000+00:00"},
            "created_by": {"S": "bench-user"},
        },
    )
    event = rest_event(
        "GET",
        f"/items/{ITEM_ID}",
        resource="/items/{item_id}",
        path_parameters={"item_id": ITEM_ID},
        claims={"sub": "bench-user"},
    )
    return Scenario(
        name="items API",
        function_name="items-api",
        handlers={
            "ours": "items_runtime.api:lambda_handler",
            "limit": "tools.bench.cold_start.bare_items:lambda_handler",
            "peer": "tools.bench.cold_start.peer_items:lambda_handler",
        },
        environment={
            **base_environment(),
            **resources.api_environment,
            **client_environment(resources.endpoint),
            **lambda_environment("items-api"),
        },
        event=lambda _: event,
        expect={"statusCode": 200},
    )


def _hook_environment(hooks_endpoint: str, moto_endpoint: str, target: dict[str, Any]) -> dict[str, str]:
    return {
        **base_environment(),
        **client_environment(moto_endpoint),  # CloudWatch
        "AWS_ENDPOINT_URL_CODEDEPLOY": hooks_endpoint,
        "AWS_ENDPOINT_URL_LAMBDA": hooks_endpoint,
        "POWERTOOLS_SERVICE_NAME": "deployment-hooks",
        "DEPLOYMENT_TARGET_1": json.dumps(target),
        "TRAFFIC_FUNCTION_NAME": "items-bench-traffic",
        "BAKE_SECONDS": "0",
    }


def pre_traffic_hook(hooks_endpoint: str, moto_endpoint: str) -> Scenario:
    """The new version answers the probe, so the hook starts the traffic and reports Succeeded."""
    target = {
        "group": GROUP,
        "version_arn": "arn:aws:lambda:eu-west-1:111111111111:function:items-api:7",
        "alias_arn": "arn:aws:lambda:eu-west-1:111111111111:function:items-api:live",
        "probe_event": PROBE,
        "expected_response": {"statusCode": 200},
        "traffic": {"per_minute": 60, "seconds": 600},
    }
    return Scenario(
        name="pre-traffic hook",
        function_name="items-pre-traffic",
        handlers={
            "ours": "deploy_hooks.pre_traffic:lambda_handler",
            "limit": "tools.bench.cold_start.bare_pre_traffic:lambda_handler",
            "peer": "tools.bench.cold_start.peer_pre_traffic:lambda_handler",
        },
        environment={
            **_hook_environment(hooks_endpoint, moto_endpoint, target),
            **lambda_environment("items-pre-traffic"),
        },
        event=lambda _: HOOK_EVENT,
        expect={"status": "Succeeded"},
    )


def post_traffic_hook(hooks_endpoint: str, moto_endpoint: str) -> Scenario:
    """The deployment's alarms exist and none is in ALARM, so the hook reports Succeeded."""
    cloudwatch = client("cloudwatch", moto_endpoint)
    for name in ALARMS:
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            Namespace="AWS/Lambda",
            MetricName="Errors",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
    target = {"group": GROUP, "alarm_names": ALARMS}
    return Scenario(
        name="post-traffic hook",
        function_name="items-post-traffic",
        handlers={
            "ours": "deploy_hooks.post_traffic:lambda_handler",
            "limit": "tools.bench.cold_start.bare_post_traffic:lambda_handler",
            "peer": "tools.bench.cold_start.peer_post_traffic:lambda_handler",
        },
        environment={
            **_hook_environment(hooks_endpoint, moto_endpoint, target),
            **lambda_environment("items-post-traffic"),
        },
        event=lambda _: HOOK_EVENT,
        expect={"status": "Succeeded"},
    )


def ingest_scenarios(resources: ItemsResources, events_per_function: int, scratch: Path) -> list[Scenario]:
    """The ingest worker validating one upload and queueing its chunk, and the importer importing one
    chunk: each cold start a fresh upload or chunk, made by the real API and worker beforehand
    (tools/bench/cold_start/uploads.py)."""
    # Room for a chunk's writes at once: at dev's 2 write units a second the importer would pace 25
    # records over tens of seconds (pacing is the import bench's subject, not a cold start's).
    set_write_capacity(resources.endpoint, resources.table_name, resources.list_index_name, 10_000)
    out = scratch / "ingest-events.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.bench.cold_start.uploads",
            str(out),
            str(events_per_function),
            resources.ingest_queue_url,
            resources.import_queue_url,
        ],
        cwd=REPO_ROOT,
        env={**base_environment(), **function_environment(resources, resources.endpoint)},
        check=True,
        stdout=subprocess.DEVNULL,
    )
    events = json.loads(out.read_text(encoding="utf-8"))
    return [
        Scenario(
            name=f"ingest {kind}",
            function_name=f"items-ingest-{kind}",
            handlers={
                "ours": f"items_runtime.{kind}:lambda_handler",
                "limit": f"tools.bench.cold_start.bare_{kind}:lambda_handler",
                "peer": f"tools.bench.cold_start.peer_{kind}:lambda_handler",
            },
            environment={
                **base_environment(),
                **environment,
                **client_environment(resources.endpoint),
                **lambda_environment(f"items-ingest-{kind}"),
            },
            event=lambda n, kind=kind: events[kind][n % len(events[kind])],  # type: ignore[misc]
            expect={"batchItemFailures": []},
        )
        for kind, environment in (
            ("worker", resources.worker_environment),
            ("importer", resources.importer_environment),
        )
    ]

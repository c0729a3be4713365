"""Local AWS emulation for tests and `make local-api`: moto in server mode on 127.0.0.1, and the dev
stage's tables and secret created in it from the synthesized template's own definitions (key schema,
indexes, streams, TTL, capacity), so runtime code and infrastructure cannot drift apart."""

import json
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

REGION = "eu-west-1"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    server = subprocess.Popen(  # noqa: S603 - the venv's own moto_server, bound to loopback
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return server, f"http://127.0.0.1:{port}"
        time.sleep(0.05)
    server.kill()
    raise TimeoutError("moto_server did not start")


def client(service: str, endpoint: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION, **CREDENTIALS)


def _capacity(table: dict[str, Any]) -> dict[str, int]:
    """Provisioned throughput as the template sets it (the minimum of auto-scaled capacity)."""
    write = table["WriteProvisionedThroughputSettings"]["WriteCapacityAutoScalingSettings"]["MinCapacity"]
    (replica,) = table["Replicas"]
    read = replica["ReadProvisionedThroughputSettings"]
    read_units = read.get("ReadCapacityUnits") or read["ReadCapacityAutoScalingSettings"]["MinCapacity"]
    return {"ReadCapacityUnits": int(read_units), "WriteCapacityUnits": int(write)}


def create_table(dynamodb: Any, name: str, table: dict[str, Any]) -> None:
    """CreateTable from an AWS::DynamoDB::GlobalTable's properties (global-table-only settings dropped)."""
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": table["KeySchema"],
        "AttributeDefinitions": table["AttributeDefinitions"],
        "BillingMode": table.get("BillingMode", "PROVISIONED"),
    }
    provisioned = request["BillingMode"] == "PROVISIONED"
    if provisioned:
        request["ProvisionedThroughput"] = _capacity(table)
    indexes = []
    for index in table.get("GlobalSecondaryIndexes", []):
        spec = {k: index[k] for k in ("IndexName", "KeySchema", "Projection")}
        if provisioned:
            spec["ProvisionedThroughput"] = request["ProvisionedThroughput"]
        indexes.append(spec)
    if indexes:
        request["GlobalSecondaryIndexes"] = indexes
    if "StreamSpecification" in table:
        request["StreamSpecification"] = {"StreamEnabled": True, **table["StreamSpecification"]}
    dynamodb.create_table(**request)
    if table.get("TimeToLiveSpecification", {}).get("Enabled"):
        dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=table["TimeToLiveSpecification"])


@dataclass(frozen=True)
class ItemsResources:
    endpoint: str
    table_name: str
    list_index_name: str
    idempotency_table_name: str
    pagination_secret_arn: str
    template: dict[str, Any]


def create_items_resources(endpoint: str, template: dict[str, Any]) -> ItemsResources:
    resources = template["Resources"]
    dynamodb = client("dynamodb", endpoint)
    tables = {k: v["Properties"] for k, v in resources.items() if v["Type"] == "AWS::DynamoDB::GlobalTable"}
    names = {}
    for logical_id, table in sorted(tables.items()):
        create_table(dynamodb, logical_id, table)
        names[logical_id] = logical_id
    items_id = next(k for k in tables if k.startswith("DataTable"))
    idempotency_id = next(k for k in tables if k.startswith("DataIdempotencyTable"))
    (secret_id,) = [k for k, v in resources.items() if v["Type"] == "AWS::SecretsManager::Secret"]
    generator = resources[secret_id]["Properties"]["GenerateSecretString"]
    value = json.loads(generator["SecretStringTemplate"])
    value[generator["GenerateStringKey"]] = secrets.token_urlsafe(generator["PasswordLength"])[
        : generator["PasswordLength"]
    ]
    arn = client("secretsmanager", endpoint).create_secret(Name=secret_id, SecretString=json.dumps(value))["ARN"]
    (list_index,) = tables[items_id]["GlobalSecondaryIndexes"]
    return ItemsResources(
        endpoint=endpoint,
        table_name=items_id,
        list_index_name=list_index["IndexName"],
        idempotency_table_name=idempotency_id,
        pagination_secret_arn=arn,
        template=template,
    )

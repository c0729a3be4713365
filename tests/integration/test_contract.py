"""The contract rung: Schemathesis generates requests from the exported OpenAPI document (valid and
invalid, every phase: coverage, fuzzing, stateful) and sends them to the local API, which answers as API
Gateway and the function do; every check must hold (no server error, every status documented, bodies,
headers and content types as documented, valid data accepted, invalid data and missing credentials
refused). Fixed seed and a bounded number of examples (tests/integration/contract/schemathesis.toml)."""

import os
import subprocess
import sys

from services.items.asset import OPENAPI_DOCUMENT
from tests.conftest import REPO_ROOT
from tests.integration.conftest import API_KEY, TOKEN

CONFIG = REPO_ROOT / "tests/integration/contract/schemathesis.toml"


def test_the_openapi_document_holds_against_the_local_api(local_api: str) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            str(CONFIG),
            "run",
            str(OPENAPI_DOCUMENT),
            "--url",
            local_api.rstrip("/"),
            "--no-color",
        ],
        cwd=REPO_ROOT,
        env={
            "PATH": os.environ["PATH"],
            "PYTHONPATH": str(REPO_ROOT),
            "CONTRACT_TOKEN": TOKEN,
            "CONTRACT_API_KEY": API_KEY,
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    summary = result.stdout.splitlines()
    assert any("generated" in line and "passed" in line for line in summary), result.stdout[-2000:]
    assert "Selected: 8/8" in result.stdout

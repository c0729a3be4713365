"""The CDK CLI version package.json pins (read without importing aws-cdk-lib, so the audit can use it)."""

import json
from pathlib import Path

PACKAGE_JSON = Path(__file__).resolve().parent.parent / "package.json"


def pinned_cli_version() -> str:
    package = json.loads(PACKAGE_JSON.read_text(encoding="utf-8"))
    return str(package["devDependencies"]["aws-cdk"])

"""The CDK CLI and cdk-assets versions package.json pins (read without importing aws-cdk-lib, so the audit can
use them). The pipeline installs exactly these in its self-mutation and asset steps."""

import json
from pathlib import Path

PACKAGE_JSON = Path(__file__).resolve().parent.parent / "package.json"


def _pinned(package_name: str) -> str:
    package = json.loads(PACKAGE_JSON.read_text(encoding="utf-8"))
    return str(package["devDependencies"][package_name])


def pinned_cli_version() -> str:
    return _pinned("aws-cdk")


def pinned_assets_version() -> str:
    return _pinned("cdk-assets")

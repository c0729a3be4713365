"""Shared by every test folder. Kept free of CDK imports so tests/e2e runs with pytest alone: the
synthesis fixtures load only where aws-cdk-lib is installed."""

import importlib.util
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

if importlib.util.find_spec("aws_cdk") is not None:
    pytest_plugins = ["tests.synth_fixtures"]

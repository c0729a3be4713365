"""Shared by every test folder; kept free of CDK imports so tests/e2e runs with pytest alone."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

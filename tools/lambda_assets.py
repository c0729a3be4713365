"""The one place that makes the Lambda assets' packages importable, the way Lambda imports them (as
top-level packages of their asset directory), for the tools that run handlers in-process: the local API,
the OpenAPI export and the bench. Infrastructure code never imports them."""

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
ASSET_DIRS = (REPO_ROOT / "services" / "items" / "runtime", REPO_ROOT / "services" / "platform" / "runtime")


def make_importable() -> None:
    for directory in ASSET_DIRS:
        if str(directory) not in sys.path:
            sys.path.insert(0, str(directory))

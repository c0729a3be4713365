"""The items service: a REST API on Lambda (Powertools) over a DynamoDB table, and bulk import through
an S3 staging bucket.

The stack reads a few shapes from the function code (request models, the upload prefix). That code is
imported the way Lambda imports it, as top-level packages of runtime/, so each module has one name."""

import sys
from pathlib import Path

_RUNTIME_DIR = str(Path(__file__).parent / "runtime")
if _RUNTIME_DIR not in sys.path:
    sys.path.append(_RUNTIME_DIR)

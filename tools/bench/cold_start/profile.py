"""Where a cold start's import time goes: `python -X importtime` of one cold start of ours and of the
limit, each module's own time summed per package (per module inside Powertools, whose package imports
are most of the difference), and what ours imports beyond the limit."""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
from collections import Counter
from pathlib import Path

MEASURE = Path(__file__).resolve().parent / "measure.py"
LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)$")
# Packages reported by their second-level module: their package imports are what a handler pays for.
BY_MODULE = ("aws_lambda_powertools", "pydantic")


def _group(module: str) -> str:
    parts = module.split(".")
    if parts[0] in BY_MODULE and len(parts) > 1:
        return ".".join(parts[:3] if parts[1] in ("event_handler", "utilities") and len(parts) > 2 else parts[:2])
    return parts[0]


def import_times(scenario_file: Path, variant: str, env: dict[str, str]) -> Counter[str]:
    """Microseconds of each package's own import time in one cold start."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", str(MEASURE), str(scenario_file), variant, "import-only"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    times: Counter[str] = Counter()
    for line in result.stderr.splitlines():
        match = LINE.match(line)
        if match:
            times[_group(match.group(4))] += int(match.group(1))
    return times


def difference(scenario_file: Path, env: dict[str, str], repetitions: int = 3, top: int = 12) -> list[str]:
    """Lines naming what ours imports beyond the limit, largest first (median of a few runs each)."""
    runs = {
        variant: [import_times(scenario_file, variant, env) for _ in range(repetitions)]
        for variant in ("ours", "limit")
    }
    median = {
        variant: {name: statistics.median(run[name] for run in samples) for name in set().union(*samples)}
        for variant, samples in runs.items()
    }
    extra = {name: median["ours"].get(name, 0) - median["limit"].get(name, 0) for name in median["ours"]}
    total = sum(value for value in extra.values() if value > 0)
    lines = [f"    imports beyond the limit: {total / 1000:.0f} ms in all, of which"]
    for name, value in sorted(extra.items(), key=lambda item: -item[1])[:top]:
        if value > 0:
            lines.append(f"      {value / 1000:6.1f} ms  {name}")
    return lines

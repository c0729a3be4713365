"""Replays buildspec.yml locally the way CodeBuild runs it: its env variables, then each phase's
commands in order, in one shell per command, stopping at the first failure (`make ci`)."""

import os
import subprocess
import sys
from pathlib import Path

from pipeline.buildspec import load_buildspec

PHASES = ("install", "pre_build", "build", "post_build")


def commands_by_phase(spec: dict[str, object]) -> list[tuple[str, str]]:
    phases = spec.get("phases")
    if not isinstance(phases, dict):
        return []
    ordered = []
    for phase in PHASES:
        for command in (phases.get(phase) or {}).get("commands", []):
            ordered.append((phase, str(command)))
    return ordered


def main(argv: list[str]) -> int:
    path = Path(argv[1] if len(argv) > 1 else "buildspec.yml")
    spec = load_buildspec(path)
    env = {**os.environ, **{k: str(v) for k, v in (spec.get("env", {}).get("variables") or {}).items()}}
    for phase, command in commands_by_phase(spec):
        print(f"[{phase}] {command}", flush=True)
        result = subprocess.run(command, shell=True, env=env, check=False)
        if result.returncode != 0:
            print(f"[{phase}] failed with exit code {result.returncode}: {command}", file=sys.stderr)
            return result.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""Summarizes cdk.out/validation-report.json per pack and rule, on stdout and in
cdk.out/compliance/summary.md (the full audit bundle is the compliance issue's work)."""

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from compliance.severity import ORIGINAL_SEVERITY_KEY


def rule_of(rule_name: str) -> str:
    """``AwsSolutions-IAM5[Action::s3:*]`` -> ``AwsSolutions-IAM5``."""
    return rule_name.split("[", 1)[0]


def count_findings(report: dict[str, Any]) -> dict[str, Counter[tuple[str, str]]]:
    """Per pack: (rule, severity) -> number of violating resources."""
    counts: dict[str, Counter[tuple[str, str]]] = {}
    for plugin in report.get("pluginReports", []):
        counter: Counter[tuple[str, str]] = Counter()
        for violation in plugin.get("violations", []):
            severity = (violation.get("ruleMetadata") or {}).get(ORIGINAL_SEVERITY_KEY) or violation.get(
                "severity", "error"
            )
            counter[(rule_of(violation["ruleName"]), severity)] += len(
                violation.get("violatingConstructs") or violation.get("violatingResources") or [None]
            )
        counts[plugin.get("pluginName", "unknown")] = counter
    return counts


def render_markdown(counts: dict[str, Counter[tuple[str, str]]]) -> str:
    lines = ["# cdk-nag findings", "", "| pack | rule | severity | resources |", "|---|---|---|---|"]
    for pack in sorted(counts):
        for (rule, severity), number in sorted(counts[pack].items()):
            lines.append(f"| {pack} | {rule} | {severity} | {number} |")
        if not counts[pack]:
            lines.append(f"| {pack} | (none) | | 0 |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    report_path = Path(argv[1] if len(argv) > 1 else "cdk.out/validation-report.json")
    if not report_path.exists():
        print(f"{report_path} not found: run `make synth` first", file=sys.stderr)
        return 1
    counts = count_findings(json.loads(report_path.read_text(encoding="utf-8")))
    out_dir = report_path.parent / "compliance"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "summary.md").write_text(render_markdown(counts), encoding="utf-8")
    for pack in sorted(counts):
        total = sum(counts[pack].values())
        print(f"{pack}: {total} finding(s) across {len(counts[pack])} rule(s)")
    print(f"summary written to {out_dir / 'summary.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

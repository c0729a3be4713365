"""Summarizes cdk.out/validation-report.json per pack and rule (open and acknowledged findings), on
stdout and in cdk.out/compliance/summary.md."""

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from compliance.severity import ORIGINAL_SEVERITY_KEY

Key = tuple[str, str, str]  # rule, severity, status


def rule_of(rule_name: str) -> str:
    """``AwsSolutions-IAM5[Action::s3:*]`` -> ``AwsSolutions-IAM5``."""
    return rule_name.split("[", 1)[0]


def _severity(violation: dict[str, Any]) -> str:
    return str((violation.get("ruleMetadata") or {}).get(ORIGINAL_SEVERITY_KEY) or violation.get("severity", "error"))


def count_findings(report: dict[str, Any]) -> dict[str, Counter[Key]]:
    """Per pack: (rule, severity, open|acknowledged) -> number of violating resources."""
    counts: dict[str, Counter[Key]] = {}
    for plugin in report.get("pluginReports", []):
        counter: Counter[Key] = Counter()
        for status, key in (("open", "violations"), ("acknowledged", "suppressedViolations")):
            for violation in plugin.get(key, []):
                resources = len(violation.get("violatingConstructs") or [None])
                counter[(rule_of(violation["ruleName"]), _severity(violation), status)] += resources
        counts[plugin.get("pluginName", "unknown")] = counter
    return counts


def render_markdown(counts: dict[str, Counter[Key]]) -> str:
    lines = [
        "# cdk-nag findings",
        "",
        "| pack | rule | severity | open | acknowledged |",
        "|---|---|---|---|---|",
    ]
    for pack in sorted(counts):
        rules = sorted({(rule, severity) for rule, severity, _ in counts[pack]})
        for rule, severity in rules:
            open_count = counts[pack][(rule, severity, "open")]
            acknowledged = counts[pack][(rule, severity, "acknowledged")]
            lines.append(f"| {pack} | {rule} | {severity} | {open_count} | {acknowledged} |")
        if not rules:
            lines.append(f"| {pack} | (none) | | 0 | 0 |")
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
        by_status: Counter[str] = Counter()
        for (_, _, status), number in counts[pack].items():
            by_status[status] += number
        print(f"{pack}: {by_status['open']} open, {by_status['acknowledged']} acknowledged finding(s)")
    print(f"summary written to {out_dir / 'summary.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

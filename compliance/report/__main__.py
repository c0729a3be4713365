"""`python -m compliance.report cdk.out [--baseline .baseline]` (`make audit`; `make synth` runs it): writes
cdk.out/compliance/ — report.html, summary.md, summary.txt, findings.csv, findings.json, findings.sarif,
junit.xml — for people, spreadsheets, tools, code scanning and CodeBuild reports, and with a baseline
directory (what `make baseline-fetch` fetched; absent on a first run) change-impact.json, change-impact.md and
impact.txt; exits 1 unless both gates passed (compliance; no unacknowledged stateful replacement or removal
in staging or prod).

Runs of the same commit give the same files apart from the generation time (SOURCE_DATE_EPOCH fixes it).
"""

import argparse
import sys
from pathlib import Path

from compliance.impact.render import render_gate_failures, render_one_line
from compliance.report.collect import collect
from compliance.report.render import write_bundle


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m compliance.report")
    parser.add_argument("cdk_out", nargs="?", default="cdk.out", type=Path)
    parser.add_argument("--baseline", type=Path, help="the templates last deployed to each stage (.baseline/)")
    arguments = parser.parse_args(argv[1:])
    cdk_out = arguments.cdk_out
    if not (cdk_out / "validation-report.json").exists():
        print(f"{cdk_out}/validation-report.json not found: run `make synth` first", file=sys.stderr)
        return 1
    audit = collect(cdk_out, baseline=arguments.baseline)
    out_dir = write_bundle(audit, cdk_out / "compliance")
    for pack, mode in sorted(audit.packs.items()):
        counts = audit.counts(pack)
        print(f"{pack} ({mode}): {counts['open']} open, {counts['acknowledged']} acknowledged")
    lint_levels = audit.lint_counts()
    print(
        f"cfn-lint: {lint_levels['Error']} errors, {lint_levels['Warning']} warnings, "
        f"{lint_levels['acknowledged']} acknowledged"
    )
    if audit.impact is not None:
        print(f"change impact in prod: {render_one_line(audit.impact).strip()}")
        for failure in render_gate_failures(audit.impact):
            print(f"change impact: BLOCKING {failure} (acknowledge it in compliance/impact/acknowledgments.py)")
    passed = audit.passed and audit.impact_passed
    print(f"audit bundle written to {out_dir} — {'PASSED' if passed else 'FAILED'}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""`python -m compliance.report cdk.out` (`make audit`; `make synth` runs it): writes cdk.out/compliance/ —
report.html, summary.md, summary.txt, findings.csv, findings.json, findings.sarif, junit.xml — for people,
spreadsheets, tools, code scanning and CodeBuild reports, and exits 1 unless the gate passed.

Runs of the same commit give the same files apart from the generation time (SOURCE_DATE_EPOCH fixes it).
"""

import sys
from pathlib import Path

from compliance.report.collect import collect
from compliance.report.render import write_bundle


def main(argv: list[str]) -> int:
    cdk_out = Path(argv[1] if len(argv) > 1 else "cdk.out")
    if not (cdk_out / "validation-report.json").exists():
        print(f"{cdk_out}/validation-report.json not found: run `make synth` first", file=sys.stderr)
        return 1
    audit = collect(cdk_out)
    out_dir = write_bundle(audit, cdk_out / "compliance")
    for pack, mode in sorted(audit.packs.items()):
        counts = audit.counts(pack)
        print(f"{pack} ({mode}): {counts['open']} open, {counts['acknowledged']} acknowledged")
    lint_levels = audit.lint_counts()
    print(
        f"cfn-lint: {lint_levels['Error']} errors, {lint_levels['Warning']} warnings, "
        f"{lint_levels['acknowledged']} acknowledged"
    )
    print(f"audit bundle written to {out_dir} — {'PASSED' if audit.passed else 'FAILED'}")
    return 0 if audit.passed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""The audit bundle the pipeline's Synth step writes (`make synth` in a clean clone): cfn-lint gate, SARIF
validity, and the HTML page in a real browser."""

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from compliance.report.render import IMPACT_RENDERERS, RENDERERS
from tests.conftest import REPO_ROOT
from tests.synth_fixtures import BackgroundSynth

SARIF_SCHEMA = REPO_ROOT / "node_modules" / "@microsoft" / "jest-sarif" / "lib" / "schemas" / "sarif-2.1.0-rtm.5.json"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
]


@pytest.fixture(scope="module")
def bundle(background_synths: dict[str, BackgroundSynth]) -> tuple[dict[str, Any], Path]:
    """The bundle the pipeline's Synth step wrote (`make synth` in a clean clone) and its findings.json."""
    run = background_synths["synth step in a clean clone"]
    returncode, output = run.wait()
    assert returncode == 0, output[-3000:]
    directory = run.outdir / "compliance"
    return json.loads((directory / "findings.json").read_text()), directory


def test_cfn_lint_finds_no_unacknowledged_error_in_any_template(bundle: tuple[dict[str, Any], Path]) -> None:
    findings, _ = bundle
    assert [f for f in findings["cfnLint"] if f["level"] == "Error" and not f["acknowledgedReason"]] == []
    assert {f["template"] for f in findings["cfnLint"]} <= {f["template"] for f in findings["findings"]}


def test_the_default_configuration_passes_the_gate(bundle: tuple[dict[str, Any], Path]) -> None:
    findings, _ = bundle
    assert findings["passed"] is True
    assert {p["name"]: p["mode"] for p in findings["packs"]} == {
        "AwsSolutions": "gate",
        "Serverless": "gate",
        "NIST.800.53.R5": "report",
        "HIPAA.Security": "report",
        "PCI.DSS.321": "report",
    }
    assert {row["environment"] for row in findings["summary"]} == {"pipeline", "dev", "staging", "prod"}


def test_every_file_of_the_bundle_and_the_change_impact_is_written(bundle: tuple[dict[str, Any], Path]) -> None:
    _, directory = bundle
    assert sorted(p.name for p in directory.iterdir()) == sorted({*RENDERERS, *IMPACT_RENDERERS})


def test_a_first_run_without_baselines_says_so_in_the_change_impact(bundle: tuple[dict[str, Any], Path]) -> None:
    _, directory = bundle
    impact = json.loads((directory / "change-impact.json").read_text())
    assert impact["passed"] is True
    stages = [stage for env in impact["environments"] for stage in env["stages"]]
    assert {s["stage"] for s in stages} == {"pipeline", "dev", "staging", "prod-eu-west-1", "prod-eu-central-1"}
    assert all(s["baseline"] is None and s["stacks"] == [] for s in stages)
    assert (directory / "impact.txt").read_text().startswith("no baseline for prod yet (its first release)")
    assert (
        "no baseline (nothing recorded yet: the first release to this stage)"
        in (directory / "change-impact.md").read_text()
    )
    assert 'id="change-impact"' in (directory / "report.html").read_text()


def test_the_real_sarif_is_valid(bundle: tuple[dict[str, Any], Path]) -> None:
    _, directory = bundle
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validators.validator_for(schema)(schema).validate(json.loads((directory / "findings.sarif").read_text()))


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_report_opens_in_headless_chromium_without_console_errors_and_shows_the_totals(
    bundle: tuple[dict[str, Any], Path], tmp_path: Path
) -> None:
    findings, directory = bundle
    page = (directory / "report.html").as_uri()
    flags = [str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*flags, "--dump-dom", page], capture_output=True, text=True, timeout=120, check=True)
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line]
    assert console == [], console
    statuses = [f["status"] for f in findings["findings"]]
    assert re.search(rf'id="total-open"><b>{statuses.count("open")}</b>', dom.stdout)
    assert re.search(rf'id="total-acknowledged"><b>{statuses.count("acknowledged")}</b>', dom.stdout)
    assert 'id="gate-status">PASSED<' in dom.stdout
    screenshot = tmp_path / "report.png"
    subprocess.run(
        [*flags, "--window-size=1300,1600", f"--screenshot={screenshot}", page],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 20_000, "the page rendered visible content"

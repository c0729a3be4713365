"""`make audit` over the real app: cfn-lint gate, SARIF validity, and the HTML page in a real browser."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from compliance.audit import Audit, collect
from compliance.render import RENDERERS, write_bundle
from tests.conftest import REPO_ROOT
from tests.synth_fixtures import Synthesized

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
def bundle(synthesized: Synthesized) -> tuple[Audit, Path]:
    audit = collect(synthesized.outdir)
    return audit, write_bundle(audit, synthesized.outdir / "compliance")


def test_cfn_lint_finds_no_unacknowledged_error_in_any_template(bundle: tuple[Audit, Path]) -> None:
    audit, _ = bundle
    assert [f for f in audit.lint if f.blocking] == []
    assert {f.template for f in audit.lint} <= {s.template for s in audit.stacks}


def test_the_default_configuration_passes_the_gate(bundle: tuple[Audit, Path]) -> None:
    audit, _ = bundle
    assert audit.passed
    assert audit.packs == {
        "AwsSolutions": "gate",
        "Serverless": "gate",
        "NIST.800.53.R5": "report",
        "HIPAA.Security": "report",
        "PCI.DSS.321": "report",
    }
    environments = {s.environment for s in audit.stacks}
    assert environments == {"pipeline", "dev", "staging", "prod"}


def test_all_six_files_are_written(bundle: tuple[Audit, Path]) -> None:
    _, directory = bundle
    assert sorted(p.name for p in directory.iterdir()) == sorted(RENDERERS)


def test_the_real_sarif_is_valid(bundle: tuple[Audit, Path]) -> None:
    _, directory = bundle
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validators.validator_for(schema)(schema).validate(json.loads((directory / "findings.sarif").read_text()))


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_report_opens_in_headless_chromium_without_console_errors_and_shows_the_totals(
    bundle: tuple[Audit, Path], tmp_path: Path
) -> None:
    audit, directory = bundle
    page = (directory / "report.html").as_uri()
    flags = [str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*flags, "--dump-dom", page], capture_output=True, text=True, timeout=120, check=True)
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line]
    assert console == [], console
    counts = audit.counts()
    assert re.search(rf'id="total-open"><b>{counts["open"]}</b>', dom.stdout)
    assert re.search(rf'id="total-acknowledged"><b>{counts["acknowledged"]}</b>', dom.stdout)
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

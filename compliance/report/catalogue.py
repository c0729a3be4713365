"""The rules each cdk-nag pack evaluates, with their cause and explanation, read from the RULES.md
that ships inside the installed cdk-nag package (so the catalogue always matches the version run)."""

import importlib.util
import re
import tarfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")


@dataclass(frozen=True)
class Rule:
    pack: str
    rule_id: str
    level: str  # "error" or "warning"
    cause: str
    explanation: str


def _rules_markdown() -> str:
    # find_spec locates the package without importing it (importing would start the jsii runtime).
    spec = importlib.util.find_spec("cdk_nag")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("cdk-nag is not installed")
    jsii_dir = Path(next(iter(spec.submodule_search_locations))) / "_jsii"
    (tarball,) = sorted(jsii_dir.glob("*.tgz"))
    with tarfile.open(tarball, mode="r:gz") as archive:
        member = archive.extractfile("package/RULES.md")
        if member is None:
            raise FileNotFoundError("RULES.md is missing from the cdk-nag package")
        return member.read().decode("utf-8")


def _cell(text: str) -> str:
    return re.sub(r"\s+", " ", _LINK.sub(r"\1", text)).strip()


# RULES.md section titles and the pack names (rule-id prefixes) cdk-nag reports.
PACK_SECTIONS = {
    "AWS Solutions": "AwsSolutions",
    "HIPAA Security": "HIPAA.Security",
    "NIST 800-53 rev 4": "NIST.800.53.R4",
    "NIST 800-53 rev 5": "NIST.800.53.R5",
    "PCI DSS 3.2.1": "PCI.DSS.321",
    "Serverless": "Serverless",
}


def parse_rules(markdown: str) -> dict[str, Rule]:
    rules: dict[str, Rule] = {}
    level: str | None = None
    pack: str | None = None
    for line in markdown.splitlines():
        if line.startswith("### "):
            heading = line[4:].strip().lower()
            level = {"warnings": "warning", "errors": "error"}.get(heading)  # "Excluded Rules" -> None
            continue
        if line.startswith("## "):
            pack, level = PACK_SECTIONS.get(line[3:].strip()), None
            continue
        if pack is None:
            continue
        if level is None or not line.startswith("|"):
            continue
        cells = [_cell(c) for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or cells[0] in ("Rule ID", "") or set(cells[0]) <= {"-", " "}:
            continue
        rule_id = cells[0] if cells[0].startswith(f"{pack}-") else f"{pack}-{cells[0]}"
        rules[rule_id] = Rule(pack, rule_id, level, cells[1], cells[2])
    return rules


@cache
def rule_catalogue() -> dict[str, Rule]:
    return parse_rules(_rules_markdown())

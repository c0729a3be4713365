"""One synthesis of the whole app per test session (and the synths that run beside it), shared by the
infra and integration tests; loaded by tests/conftest.py when aws-cdk-lib is installed."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import assertions

from app import cdk_json_context
from stages.config import AppConfig, load_config
from tests.conftest import REPO_ROOT


@dataclass(frozen=True)
class StackArtifact:
    """A stack as the cloud assembly manifest describes it."""

    stack_name: str
    account: str
    region: str
    termination_protection: bool
    template: dict[str, Any]


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def read_stacks(assembly_dir: Path) -> dict[str, StackArtifact]:
    """Stacks of one cloud assembly directory (not its nested assemblies), by stack name."""
    stacks = {}
    for artifact in _read_json(assembly_dir / "manifest.json")["artifacts"].values():
        if artifact["type"] != "aws:cloudformation:stack":
            continue
        properties = artifact["properties"]
        account, region = artifact["environment"].removeprefix("aws://").split("/")
        stacks[properties["stackName"]] = StackArtifact(
            stack_name=properties["stackName"],
            account=account,
            region=region,
            termination_protection=bool(properties.get("terminationProtection", False)),
            template=_read_json(assembly_dir / properties["templateFile"]),
        )
    return stacks


@dataclass
class Synthesized:
    outdir: Path
    config: AppConfig

    def stacks(self, assembly_dir: Path | None = None) -> dict[str, StackArtifact]:
        return read_stacks(assembly_dir or self.outdir)

    def template(self, stack_name: str) -> dict[str, Any]:
        return self.stacks()[stack_name].template

    @property
    def pipeline(self) -> dict[str, Any]:
        return self.template(f"{self.config.pipeline.name}-pipeline")

    def stage_assemblies(self) -> Iterator[tuple[str, dict[str, StackArtifact]]]:
        """(stage id, its stacks) for every application stage."""
        for artifact_id, artifact in _read_json(self.outdir / "manifest.json")["artifacts"].items():
            if artifact["type"] == "cdk:cloud-assembly":
                directory = self.outdir / artifact["properties"]["directoryName"]
                yield artifact_id.removeprefix("assembly-Pipeline-"), read_stacks(directory)

    def stage_template(self, stage_id: str, stack_name: str = "items") -> dict[str, Any]:
        stacks = dict(self.stage_assemblies())[stage_id]
        return stacks[f"{stage_id.split('-', 1)[0]}-{stack_name}"].template


CDK_CLI = REPO_ROOT / "node_modules" / ".bin" / "cdk"
# Another account for the pipeline and dev: the acknowledgment registry must still match every finding.
# One prod region and no report-only packs keep that extra synth cheap; neither touches the registry.
OTHER_ACCOUNTS = {
    "pipeline.account": "444455556666",
    "environments.dev.account": "444455556666",
    "environments.prod.regions": '["eu-west-1"]',
    "compliance.nist_800_53_r5": "off",
    "compliance.hipaa_security": "off",
    "compliance.pci_dss_321": "off",
}


def offline_env(**extra: str) -> dict[str, str]:
    """No credentials, no metadata service, no telemetry: what a fresh CI machine has."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    venv_bin = str(Path(sys.executable).parent)
    env.update(
        PATH=os.pathsep.join([venv_bin, str(REPO_ROOT / "node_modules" / ".bin"), env.get("PATH", "")]),
        AWS_EC2_METADATA_DISABLED="true",
        CDK_DISABLE_CLI_TELEMETRY="true",
        **extra,
    )
    return env


@dataclass
class BackgroundSynth:
    """A synth in another process, started at collection so it overlaps with the tests that need none."""

    outdir: Path
    process: subprocess.Popen[str]
    result: tuple[int, str] | None = None

    def wait(self) -> tuple[int, str]:
        if self.result is None:
            output, _ = self.process.communicate(timeout=600)
            self.result = (self.process.returncode, output)
        return self.result


def _start(command: list[str], outdir: Path, env: dict[str, str], nice: int = 10) -> BackgroundSynth:
    # The synth most tests wait for runs at normal priority, the others niced behind it.
    process = subprocess.Popen(
        ["nice", "-n", str(nice), *command],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return BackgroundSynth(outdir, process)


SYNTH_FIXTURES = frozenset({"synthesized", "background_synths"})
_synths: dict[str, BackgroundSynth] = {}


def _needs_synth(item: pytest.Item) -> bool:
    return bool(SYNTH_FIXTURES & set(getattr(item, "fixturenames", ())))


def _start_synths() -> None:
    """Every synth the session needs, each in its own process: the app as `python app.py` (which the
    templates of most tests come from), the CDK CLI's synth (must write the same files) and the app
    pointed at other accounts (the acknowledgment registry must still match)."""
    assert CDK_CLI.exists(), "the pinned CDK CLI is missing: run `make install`"
    root = Path(tempfile.mkdtemp(prefix="synths-"))
    outdirs = {name: root / name for name in ("python-app", "cdk-cli", "other-accounts")}
    for outdir in outdirs.values():
        outdir.mkdir()
    _synths["python app.py"] = _start(
        [sys.executable, "app.py"], outdirs["python-app"], offline_env(CDK_OUTDIR=str(outdirs["python-app"])), nice=0
    )
    _synths["cdk synth"] = _start(
        [str(CDK_CLI), "synth", "--quiet", "--output", str(outdirs["cdk-cli"])], outdirs["cdk-cli"], offline_env()
    )
    _synths["other accounts"] = _start(
        [sys.executable, "app.py"],
        outdirs["other-accounts"],
        offline_env(CDK_OUTDIR=str(outdirs["other-accounts"]), CDK_CONTEXT_JSON=json.dumps(OTHER_ACCOUNTS)),
    )


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that need no synthesis run first, while the synths run in the background."""
    items.sort(key=_needs_synth)  # stable: the order within each group is kept
    if any(_needs_synth(item) for item in items):
        _start_synths()


def pytest_sessionfinish(session: pytest.Session) -> None:
    for synth in _synths.values():
        if synth.process.poll() is None:
            synth.process.kill()
        synth.process.wait()
        shutil.rmtree(synth.outdir.parent, ignore_errors=True)
    _synths.clear()


@pytest.fixture(scope="session")
def background_synths() -> dict[str, BackgroundSynth]:
    if not _synths:  # collected without any synth test (e.g. a single test by node id after -p no:...)
        _start_synths()
    return _synths


@pytest.fixture(scope="session")
def synthesized(background_synths: dict[str, BackgroundSynth]) -> Synthesized:
    synth = background_synths["python app.py"]
    returncode, output = synth.wait()
    assert returncode == 0, f"python app.py failed:\n{output[-3000:]}"
    return Synthesized(outdir=synth.outdir, config=load_config(cdk_json_context(), base_dir=REPO_ROOT))


@pytest.fixture(scope="session")
def pipeline_template(synthesized: Synthesized) -> assertions.Template:
    return assertions.Template.from_json(synthesized.pipeline)


def resources_of(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def only_resource(template: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    found = resources_of(template, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.items()))


def resource_with_prefix(template: dict[str, Any], resource_type: str, prefix: str) -> dict[str, Any]:
    """The one resource of the type whose logical id starts with the prefix (the construct path)."""
    found = [v for k, v in resources_of(template, resource_type).items() if k.startswith(prefix)]
    assert len(found) == 1, f"expected one {resource_type} under {prefix}, found {len(found)}"
    return found[0]

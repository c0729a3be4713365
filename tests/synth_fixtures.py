"""One synthesis of the whole app per test session (and the synths that run beside it), shared by the
infra and integration tests; loaded by tests/conftest.py when aws-cdk-lib is installed."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import assertions

from app import build_app, cdk_json_context
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
    """A synth in another process, started early so it overlaps with the session's own synth."""

    outdir: Path
    process: subprocess.Popen[str]

    def wait(self) -> tuple[int, str]:
        output, _ = self.process.communicate(timeout=600)
        return self.process.returncode, output


def _start(command: list[str], outdir: Path, env: dict[str, str]) -> BackgroundSynth:
    # Niced, so the session's own synth (which every infra test waits for) gets the CPU first.
    process = subprocess.Popen(
        ["nice", "-n", "10", *command],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return BackgroundSynth(outdir, process)


@pytest.fixture(scope="session")
def background_synths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, BackgroundSynth]:
    assert CDK_CLI.exists(), "the pinned CDK CLI is missing: run `make install`"
    python_out = tmp_path_factory.mktemp("python-app")
    cli_out = tmp_path_factory.mktemp("cdk-cli")
    accounts_out = tmp_path_factory.mktemp("other-accounts")
    return {
        "python app.py": _start([sys.executable, "app.py"], python_out, offline_env(CDK_OUTDIR=str(python_out))),
        "cdk synth": _start([str(CDK_CLI), "synth", "--quiet", "--output", str(cli_out)], cli_out, offline_env()),
        "other accounts": _start(
            [sys.executable, "app.py"],
            accounts_out,
            offline_env(CDK_OUTDIR=str(accounts_out), CDK_CONTEXT_JSON=json.dumps(OTHER_ACCOUNTS)),
        ),
    }


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Synthesized:
    # When this run has tests that need the other synths, start them first so they overlap with this one;
    # a run that needs none (a single infra file, say) does not pay for them.
    if any("background_synths" in getattr(item, "fixturenames", ()) for item in request.session.items):
        request.getfixturevalue("background_synths")
    outdir = tmp_path_factory.mktemp("cdk.out")
    build_app(outdir=str(outdir)).synth()
    return Synthesized(outdir=outdir, config=load_config(cdk_json_context(), base_dir=REPO_ROOT))


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

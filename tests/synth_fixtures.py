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
import yaml
from aws_cdk import assertions

from config.loading import cdk_json_context, load_config
from config.schema import AppConfig
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
# Cheaper synths for the topology matrix: the report-only packs touch neither the registry nor a gate.
_NO_REPORT_PACKS = {
    "compliance.nist_800_53_r5": "off",
    "compliance.hipaa_security": "off",
    "compliance.pci_dss_321": "off",
}
# Every supported account layout must synthesize, pass the gates and the deployability checks. The
# default configuration is the third: pipeline and dev share an account, staging and prod have their own.
TOPOLOGIES: dict[str, dict[str, str]] = {
    # Small teams start here: pipeline and every environment in one account (prod still in two regions).
    "one account": {
        "environments.staging.account": "111111111111",
        "environments.prod.account": "111111111111",
        **_NO_REPORT_PACKS,
    },
    # Pipeline in a tooling account of its own (with a connection from before the CodeConnections rename),
    # every environment apart, prod in one region.
    "account per environment": {
        "pipeline.account": "444455556666",
        "pipeline.connection_arn": (
            "arn:aws:codestar-connections:eu-west-1:444455556666:connection/11111111-2222-3333-4444-555555555555"
        ),
        "environments.dev.account": "555566667777",
        "environments.prod.regions": '["eu-west-1"]',
        **_NO_REPORT_PACKS,
    },
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
    commit: str = ""  # the commit synthesized, when it is not the working tree
    # The synth of several outdirs whose process this is (tests/synth_layouts.py), waited for once.
    shared: "BackgroundSynth | None" = None

    def wait(self) -> tuple[int, str]:
        if self.shared is not None:
            return self.shared.wait()
        if self.result is None:
            output, _ = self.process.communicate(timeout=600)
            self.result = (self.process.returncode, output)
        return self.result


def _start(
    command: list[str], outdir: Path, env: dict[str, str], nice: int = 10, cwd: Path = REPO_ROOT
) -> BackgroundSynth:
    # The synth most tests wait for runs at normal priority, the others niced behind it.
    process = subprocess.Popen(
        ["nice", "-n", str(nice), *command],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return BackgroundSynth(outdir, process)


SYNTH_FIXTURES = frozenset({"synthesized", "background_synths"})
_synths: dict[str, BackgroundSynth] = {}
_worktrees: list[Path] = []
IMPACT_BASE = "commit before the stage gates"


def impact_base_commit() -> str | None:
    """A real commit of this repository to compare the working tree with (`make impact`): the parent of the
    commit that added the release-health alarm, so the difference is known. None without that history (a
    shallow clone, a source archive)."""
    log = subprocess.run(
        ["git", "log", "--format=%H", "-S", "def any_alarm", "--", "services/platform/alarms.py"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    added = log.stdout.split()[-1:] if log.returncode == 0 else []
    if not added:
        return None
    parent = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{added[0]}^"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    return parent.stdout.strip() or None


def _start_impact_base(root: Path) -> None:
    """Synthesize the impact base commit in a temporary git worktree, with this venv and node_modules."""
    base = impact_base_commit()
    if base is None:
        return
    tree = root / "impact-base-tree"
    subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(tree), base], cwd=REPO_ROOT, check=True)
    _worktrees.append(tree)
    for installed in (".venv", "node_modules"):
        (tree / installed).symlink_to(REPO_ROOT / installed)
    outdir = root / "impact-base"
    outdir.mkdir()
    env = offline_env(CDK_OUTDIR=str(outdir), CDK_CONTEXT_JSON=json.dumps(_NO_REPORT_PACKS), LOCAL_EXPERIMENT="1")
    _synths[IMPACT_BASE] = _start([sys.executable, "app.py"], outdir, env, cwd=tree)
    _synths[IMPACT_BASE].commit = base


def _needs_synth(item: pytest.Item) -> bool:
    return bool(SYNTH_FIXTURES & set(getattr(item, "fixturenames", ())))


def clean_clone(destination: Path) -> Path:
    """What a clean clone of this working tree holds: the files git tracks or would track (ignored files
    such as cdk.context.json, cdk.out and reports/ stay behind), with their modification times, and the
    installed venv and node_modules linked in so nothing is installed twice."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for relative in filter(None, listed.split("\0")):
        source = REPO_ROOT / relative
        if source.is_file():
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    for installed in (".venv", "node_modules"):
        (destination / installed).symlink_to(REPO_ROOT / installed)
    return destination


def synth_step_commands(buildspec: Path) -> list[str]:
    """The commands of the pipeline's Synth step that write the cloud assembly (buildspec.yml's build
    phase up to `make synth`; the tests before it are this suite)."""
    commands = [str(c) for c in yaml.safe_load(buildspec.read_text())["phases"]["build"]["commands"]]
    return [c for c in commands if c.startswith("make synth")]


def _start_synths() -> None:
    """Every synth the session needs, each in its own process: the app as `python app.py` (the templates
    of most tests), the pipeline's own Synth step in a clean clone (must write the same files, and writes
    the audit bundle), and the app in the other supported account layouts."""
    assert CDK_CLI.exists(), "the pinned CDK CLI is missing: run `make install`"
    root = Path(tempfile.mkdtemp(prefix="synths-"))
    python_app = root / "python-app"
    python_app.mkdir()
    # -X importtime lists every module the synth imports (tests check that no Lambda asset is among them).
    _synths["python app.py"] = _start(
        [sys.executable, "-X", "importtime", "app.py"], python_app, offline_env(CDK_OUTDIR=str(python_app)), nice=0
    )
    clone = clean_clone(root / "clean-clone")
    (root / "home").mkdir()
    # A fresh CodeBuild host: no ~/.cdk.json, no cdk.context.json, the buildspec's variables.
    _synths["synth step in a clean clone"] = _start(
        ["bash", "-euo", "pipefail", "-c", " && ".join(synth_step_commands(clone / "buildspec.yml"))],
        clone / "cdk.out",
        offline_env(HOME=str(root / "home"), CI="true"),
        cwd=clone,
    )
    # Every other account layout in one process (the libraries load once for all of them).
    layouts = {name: root / name.replace(" ", "-") for name in TOPOLOGIES}
    for outdir in layouts.values():
        outdir.mkdir()
    plan = json.dumps([[str(layouts[name]), overrides] for name, overrides in TOPOLOGIES.items()])
    every_layout = _start([sys.executable, "-m", "tests.synth_layouts", plan], root, offline_env())
    for name, outdir in layouts.items():
        _synths[name] = BackgroundSynth(outdir, every_layout.process, shared=every_layout)
    _start_impact_base(root)


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
    for tree in _worktrees:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=REPO_ROOT, check=False)
    for synth in _synths.values():
        shutil.rmtree(synth.outdir.parent, ignore_errors=True)
    _synths.clear()
    _worktrees.clear()


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


@pytest.fixture(scope="session")
def topology_outdirs(background_synths: dict[str, BackgroundSynth]) -> dict[str, Path]:
    """The cloud assembly of every supported account layout but the default one, by layout name."""
    outdirs = {}
    for name in TOPOLOGIES:
        returncode, output = background_synths[name].wait()
        assert returncode == 0, f"{name} failed:\n{output[-3000:]}"
        outdirs[name] = background_synths[name].outdir
    return outdirs


def rendered(value: Any) -> str:
    """A template string value, with each reference in an Fn::Join written as <LogicalId>."""
    if isinstance(value, str):
        return value
    parts = value["Fn::Join"][1]
    return "".join(
        p if isinstance(p, str) else "<" + (p.get("Ref") or p.get("Fn::GetAtt", [""])[0]) + ">" for p in parts
    )

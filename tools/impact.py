"""`make impact BASE=<git ref>`: the change impact of the working tree against another commit, as the
pipeline's Build step computes it against what each environment runs.

The commit is checked out in a temporary `git worktree` (detached, removed afterwards) that uses this
repository's venv and node_modules, and synthesized there with its own app.py; the working tree is
synthesized too. Both are offline synths (no credentials, no lookups). The report goes to
reports/change-impact.json and reports/change-impact.md; the exit code is 1 when the gate would fail (an
unacknowledged stateful replacement or removal in staging or prod)."""

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from compliance.impact.assembly import impact_against_commit
from compliance.impact.model import Impact
from compliance.impact.render import render_gate_failures, render_json, render_markdown, render_one_line

REPO_ROOT = Path(__file__).resolve().parent.parent
REPORTS = REPO_ROOT / "reports"


def _git(*args: str, cwd: Path = REPO_ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def resolve(ref: str) -> str:
    try:
        return _git("rev-parse", "--verify", f"{ref}^{{commit}}")
    except subprocess.CalledProcessError:
        raise SystemExit(f"impact: {ref!r} is not a commit of this repository") from None


def offline_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    env.update(
        PATH=os.pathsep.join([str(Path(sys.executable).parent), str(REPO_ROOT / "node_modules" / ".bin"), env["PATH"]]),
        AWS_EC2_METADATA_DISABLED="true",
        CDK_DISABLE_CLI_TELEMETRY="true",
        **extra,
    )
    return env


@contextmanager
def worktree_of(commit: str) -> Iterator[Path]:
    """A detached worktree of the commit with this repository's installed venv and node_modules linked in."""
    parent = Path(tempfile.mkdtemp(prefix="impact-base-"))
    directory = parent / "tree"
    _git("worktree", "add", "--detach", "--quiet", str(directory), commit)
    try:
        for installed in (".venv", "node_modules"):
            if not (directory / installed).exists():
                (directory / installed).symlink_to(REPO_ROOT / installed)
        yield directory
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(directory)], cwd=REPO_ROOT, check=False)
        shutil.rmtree(parent, ignore_errors=True)


def synthesize(tree: Path, outdir: Path, overrides: str = "") -> Path:
    """`python app.py` of a tree into outdir (its own committed configuration; with overrides, a local
    experiment that switches settings off that do not change templates)."""
    extra = {"CDK_OUTDIR": str(outdir)}
    if overrides:
        extra.update(CDK_CONTEXT_JSON=overrides, LOCAL_EXPERIMENT="1")
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=tree, env=offline_env(**extra), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"impact: synth of {tree} failed:\n{(result.stdout + result.stderr)[-3000:]}")
    return outdir


def synthesize_commit(commit: str, outdir: Path, overrides: str = "") -> Path:
    with worktree_of(commit) as tree:
        return synthesize(tree, outdir, overrides)


def working_tree_commit() -> str:
    head = _git("rev-parse", "HEAD")
    return head + ("+changes" if _git("status", "--porcelain") else "")


def write_report(impact: Impact, out_dir: Path) -> list[Path]:
    generated_at = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in (
        ("change-impact.json", render_json(impact, generated_at)),
        ("change-impact.md", render_markdown(impact, generated_at)),
    ):
        (out_dir / name).write_text(text, encoding="utf-8")
        written.append(out_dir / name)
    return written


def impact_between(base: str, head_cdk_out: Path, base_cdk_out: Path) -> Impact:
    return impact_against_commit(working_tree_commit(), head_cdk_out, base, base_cdk_out)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m tools.impact <git ref>", file=sys.stderr)
        return 2
    base = resolve(argv[1])
    with tempfile.TemporaryDirectory(prefix="impact-") as scratch:
        print(f"impact: synthesizing {base[:12]} ({argv[1]}) in a temporary worktree and the working tree")
        base_out = synthesize_commit(base, Path(scratch) / "base")
        head_out = synthesize(REPO_ROOT, Path(scratch) / "head")
        impact = impact_between(base, head_out, base_out)
    for path in write_report(impact, REPORTS):
        print(f"impact: wrote {path.relative_to(REPO_ROOT)}")
    for env in impact.environments:
        print(f"impact: {env.name}: {render_one_line(impact, env.name).split('; details')[0]}")
    failures = render_gate_failures(impact)
    for failure in failures:
        print(f"impact: BLOCKING {failure} (acknowledge it in compliance/impact/acknowledgments.py)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""Synthesizes the app in several account layouts, one after another in this one process, so the CDK
libraries load and the template validation engine starts once for all of them (each is as
`LOCAL_EXPERIMENT=1 cdk synth -c ...` would be):

    python -m tests.synth_layouts '[["<outdir>", {"<key>": "<value>", ...}], ...]'

Prints `synthesized <outdir>` after each; stops at the first layout that fails."""

import json
import sys

from app import synthesize


def main(argv: list[str]) -> int:
    for outdir, overrides in json.loads(argv[1]):
        synthesize(context=overrides, outdir=outdir)
        print(f"synthesized {outdir}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

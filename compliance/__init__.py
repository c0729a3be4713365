"""cdk-nag packs, their wiring into synth, and (later) the acknowledgment registry and audit report."""

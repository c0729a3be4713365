"""The synth-time gate: cdk-nag packs on the App (packs.py), the one acknowledgment registry
(acknowledgments.py) and its checks (registry.py)."""

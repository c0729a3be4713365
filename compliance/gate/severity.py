"""Where a report-only pack keeps the severity the pack itself gave a finding."""

ORIGINAL_SEVERITY_KEY = "originalSeverity"
# Plugin-report metadata: "gate" (findings fail synth) or "report" (findings listed only).
MODE_METADATA_KEY = "mode"

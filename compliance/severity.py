"""Where a report-only pack keeps the severity the pack itself gave a finding."""

ORIGINAL_SEVERITY_KEY = "originalSeverity"

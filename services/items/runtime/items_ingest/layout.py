"""Where uploads land in the staging bucket (shared by the runtime and the stack's IAM and rules)."""

UPLOAD_PREFIX = "uploads/"

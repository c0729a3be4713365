"""The Powertools instances every module of the function shares."""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
# Only the AWS SDK is traced: patching every library X-Ray knows imports those that are installed
# (requests, sqlite3, ...) at every cold start, and the function calls nothing but AWS.
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics()

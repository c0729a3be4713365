"""Runtime code of the items service: the Lambda asset of its three functions. Each function has one entry
module (api.py, worker.py, importer.py) and one settings object (settings.py); last_attempt.py is what the
two queue consumers do with a message that failed; logic/ holds the rules, data/ the
access to DynamoDB and S3, wiring/ each function's collaborators. Nothing here knows the infrastructure
code: what both sides share travels as environment variables the stack sets."""

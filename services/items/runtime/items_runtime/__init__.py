"""Runtime code of the items service: the Lambda asset of its two functions. Each function has one entry
module (api.py, worker.py) and one settings object (settings.py); logic/ holds the rules, data/ the
access to DynamoDB and S3, wiring/ each function's collaborators. Nothing here knows the infrastructure
code: what both sides share travels as environment variables the stack sets."""

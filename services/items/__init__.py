"""The items service: a REST API on Lambda (Powertools) over a DynamoDB table, and bulk import through an
S3 staging bucket. The CDK code here never imports its runtime (runtime/): asset.py holds what both
sides agree on, and the stack hands it to the functions as environment variables."""

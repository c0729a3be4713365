"""Ingest: uploads to the staging bucket, validated and imported into the items table by a worker
fed by the bucket's EventBridge events (through an SQS queue), their outcome kept as an ingest job."""

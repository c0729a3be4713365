"""Access to DynamoDB and S3: each store speaks the domain models and maps AWS errors to domain errors."""

"""The items service: a REST API on Lambda (Powertools) over a DynamoDB table."""

"""Handlers compared in the cold-start figure: ours, the bare-boto3 limit and the usual-Powertools peer."""

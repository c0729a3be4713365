"""Domain errors; the handler maps each one to an HTTP response in one place."""


class ItemNotFoundError(LookupError):
    def __init__(self, item_id: str) -> None:
        super().__init__(f"item {item_id} not found")
        self.item_id = item_id


class IngestNotFoundError(LookupError):
    """No ingest job with this id belongs to the caller (another caller's job is not disclosed)."""

    def __init__(self, ingest_id: str) -> None:
        super().__init__(f"ingest {ingest_id} not found")
        self.ingest_id = ingest_id


class InvalidPageTokenError(ValueError):
    """The list cursor a client sent back is not one this API issued."""


class UnauthenticatedError(PermissionError):
    """The request carries no verified identity (API Gateway's authorizer did not run or failed)."""


class StorageUnavailableError(RuntimeError):
    """The table throttled or timed out; nothing was written, the client may retry."""

    retry_after_seconds = 1


class InvalidIdempotencyKeyError(ValueError):
    """The Idempotency-Key header does not have the allowed shape."""


class IdempotencyKeyReusedError(ValueError):
    """An Idempotency-Key came back with a different request body."""


class IdempotencyInProgressError(RuntimeError):
    """The first request with this Idempotency-Key has not finished yet."""

"""In-memory stand-ins for the data-access layer."""

from items_api.errors import StorageUnavailableError
from items_api.models import Item


class InMemoryItemRepository:
    def __init__(self) -> None:
        self.items: dict[str, Item] = {}

    def put_new(self, item: Item) -> None:
        if item.id in self.items:
            raise AssertionError(f"item {item.id} written twice")
        self.items[item.id] = item

    def get(self, item_id: str) -> Item | None:
        return self.items.get(item_id)

    def list_page(self, limit: int, token: str | None) -> tuple[list[Item], str | None]:
        ordered = sorted(self.items.values(), key=lambda i: (i.created_at, i.id), reverse=True)
        start = int(token) if token else 0
        end = start + limit
        return ordered[start:end], (str(end) if end < len(ordered) else None)


class ThrottledItemRepository(InMemoryItemRepository):
    """Every call is throttled, as DynamoDB does when provisioned capacity is exhausted."""

    def put_new(self, item: Item) -> None:
        raise StorageUnavailableError("ProvisionedThroughputExceededException")

    def get(self, item_id: str) -> Item | None:
        raise StorageUnavailableError("ProvisionedThroughputExceededException")


class BrokenItemRepository(InMemoryItemRepository):
    def get(self, item_id: str) -> Item | None:
        raise KeyError("a bug in the data layer")

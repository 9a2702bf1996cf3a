"""Import every table so that Alembic and the tests see the whole schema."""

from zapora.audit.models import AuditEntry
from zapora.auth.models import RefreshToken, User
from zapora.catalog.models import Category, Item, Option, OptionGroup
from zapora.customers.models import Customer, CustomerAddress
from zapora.db import Base
from zapora.delivery.models import CourierState, DeliveryOffer
from zapora.orders.models import IdempotencyKey, Order, OrderCounter, OrderEvent, OrderLine
from zapora.outbox.models import OutboxMessage
from zapora.stores.models import DeliveryZone, OpeningHours, Store, StoreClosure
from zapora.whatsapp.models import Conversation, InboundMessage

__all__ = [
    "AuditEntry",
    "Base",
    "Category",
    "Conversation",
    "CourierState",
    "Customer",
    "CustomerAddress",
    "DeliveryOffer",
    "DeliveryZone",
    "IdempotencyKey",
    "InboundMessage",
    "Item",
    "OpeningHours",
    "Option",
    "OptionGroup",
    "Order",
    "OrderCounter",
    "OrderEvent",
    "OrderLine",
    "OutboxMessage",
    "RefreshToken",
    "Store",
    "StoreClosure",
    "User",
]

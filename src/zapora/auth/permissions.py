"""Named permissions and the one table that grants them to roles."""

from __future__ import annotations

from enum import StrEnum

from zapora.auth.models import Role


class Permission(StrEnum):
    STORES_READ = "stores:read"
    STORES_WRITE = "stores:write"
    STORES_CREATE = "stores:create"
    CATALOG_READ = "catalog:read"
    CATALOG_WRITE = "catalog:write"
    ORDERS_READ = "orders:read"
    ORDERS_CREATE = "orders:create"
    ORDERS_UPDATE = "orders:update"
    # Marking an order's payment as received.
    PAYMENTS_UPDATE = "payments:update"
    INBOX_READ = "inbox:read"
    INBOX_RETRY = "inbox:retry"
    STAFF_MANAGE = "staff:manage"
    AUDIT_READ = "audit:read"
    # Reading every store's audit log at once; only platform admins hold it.
    AUDIT_READ_ALL = "audit:read_all"
    # Reading a store's sales, timing and cancellation reports.
    REPORTS_READ = "reports:read"
    # Assigning couriers to orders and seeing couriers and proof photos.
    DISPATCH_MANAGE = "dispatch:manage"
    # A courier's own shift, position, offers and deliveries.
    DELIVERIES_OWN = "deliveries:own"


# Platform admins hold every permission on every store. The other roles act on their own
# store only, which each route enforces by loading the store through ``load_store_for``.
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.PLATFORM_ADMIN: frozenset(Permission),
    Role.STORE_MANAGER: frozenset(
        {
            Permission.STORES_READ,
            Permission.STORES_WRITE,
            Permission.CATALOG_READ,
            Permission.CATALOG_WRITE,
            Permission.ORDERS_READ,
            Permission.ORDERS_CREATE,
            Permission.ORDERS_UPDATE,
            Permission.PAYMENTS_UPDATE,
            Permission.INBOX_READ,
            Permission.INBOX_RETRY,
            Permission.STAFF_MANAGE,
            Permission.AUDIT_READ,
            Permission.REPORTS_READ,
            Permission.DISPATCH_MANAGE,
        }
    ),
    Role.STORE_STAFF: frozenset(
        {
            Permission.STORES_READ,
            Permission.CATALOG_READ,
            Permission.CATALOG_WRITE,
            Permission.ORDERS_READ,
            Permission.ORDERS_CREATE,
            Permission.ORDERS_UPDATE,
            Permission.PAYMENTS_UPDATE,
            Permission.INBOX_READ,
            Permission.INBOX_RETRY,
            Permission.DISPATCH_MANAGE,
        }
    ),
    # Couriers act only on their own shift and on orders offered or assigned to them.
    Role.COURIER: frozenset({Permission.STORES_READ, Permission.DELIVERIES_OWN}),
}


def has_permission(role: str, permission: Permission) -> bool:
    """Return whether ``role`` grants ``permission``; an unknown role grants nothing."""
    try:
        return permission in ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return False

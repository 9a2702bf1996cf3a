"""Staff routes for a store's catalog and the public menu.

Each staff route loads the store through ``load_store_for``, so a store the caller does
not belong to, and every row in it, is a 404.

``CachedMenuMiddleware`` serves the public menu before routing whenever this process has
the menu in memory. The route serves every other case.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from starlette.types import ASGIApp, Receive, Scope, Send

from zapora.audit.service import Actor
from zapora.auth.models import User
from zapora.auth.permissions import Permission
from zapora.catalog import service
from zapora.catalog.cache import MenuCache, MenuCacheDep, PublishMenuChanges
from zapora.catalog.schemas import (
    CategoryCreate,
    CategoryOut,
    CategoryUpdate,
    ItemCreate,
    ItemOut,
    ItemUpdate,
    MenuOut,
    OptionCreate,
    OptionGroupCreate,
    OptionGroupOut,
    OptionGroupUpdate,
    OptionOut,
    OptionUpdate,
)
from zapora.dependencies import SessionDep, load_store_for, require

router = APIRouter(prefix="/stores/{store_id}", tags=["catalog"], dependencies=[PublishMenuChanges])
public_router = APIRouter(tags=["menu"])

CatalogReader = Annotated[User, Depends(require(Permission.CATALOG_READ))]
CatalogWriter = Annotated[User, Depends(require(Permission.CATALOG_WRITE))]


@public_router.get("/stores/{slug}/menu", response_model=MenuOut)
async def get_menu(slug: str, menus: MenuCacheDep) -> Response:
    """Return a store's menu in display order, unavailable entries included and flagged."""
    # The cache contains MenuOut JSON already, so it is sent as it is, without a parse and a dump.
    return Response(await menus.menu_json_by_slug(slug), media_type="application/json")


class CachedMenuMiddleware:
    """Serve ``GET {prefix}/stores/{slug}/menu`` from this process's memory, before routing.

    Routing and dependency solving cost more than the rest of such a read. The response
    is the route's own: the cached JSON with the same two headers, and it passes through
    the same outer middleware (rate limits, metrics, access log, security headers). When
    the menu is not in memory, or the slug is unknown, the request goes on to the route,
    which loads the menu or returns 404.
    """

    def __init__(self, app: ASGIApp, *, menu_cache: MenuCache, prefix: str) -> None:
        self.app = app
        self.menu_cache = menu_cache
        self.head = f"{prefix}/stores/"
        self.tail = "/menu"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path: str = scope["path"]
            # Behind a proxy that mounts the API under a prefix, routes match without it.
            root_path: str = scope.get("root_path", "")
            if root_path and path.startswith(root_path):
                path = path[len(root_path) :]
            if path.startswith(self.head) and path.endswith(self.tail):
                body = self.menu_cache.local_menu_json(path[len(self.head) : -len(self.tail)])
                if body is not None:
                    # A new list each time, because outer middleware appends to it.
                    headers = [
                        (b"content-length", str(len(body)).encode()),
                        (b"content-type", b"application/json"),
                    ]
                    await send({"type": "http.response.start", "status": 200, "headers": headers})
                    await send({"type": "http.response.body", "body": body})
                    return
        await self.app(scope, receive, send)


@router.get("/categories", response_model=list[CategoryOut])
async def list_categories(
    store_id: uuid.UUID, session: SessionDep, user: CatalogReader
) -> list[CategoryOut]:
    """List the store's categories by position, then name."""
    await load_store_for(session, user, store_id)
    categories = await service.list_categories(session, store_id)
    return [CategoryOut.model_validate(category) for category in categories]


@router.post("/categories", response_model=CategoryOut, status_code=status.HTTP_201_CREATED)
async def create_category(
    store_id: uuid.UUID, body: CategoryCreate, session: SessionDep, user: CatalogWriter
) -> CategoryOut:
    """Create a category."""
    await load_store_for(session, user, store_id)
    category = await service.create_category(session, store_id, body, actor=Actor.staff(user))
    return CategoryOut.model_validate(category)


@router.get("/categories/{category_id}", response_model=CategoryOut)
async def get_category(
    store_id: uuid.UUID, category_id: uuid.UUID, session: SessionDep, user: CatalogReader
) -> CategoryOut:
    """Return one category."""
    await load_store_for(session, user, store_id)
    category = await service.get_category(session, store_id, category_id)
    return CategoryOut.model_validate(category)


@router.patch("/categories/{category_id}", response_model=CategoryOut)
async def update_category(
    store_id: uuid.UUID,
    category_id: uuid.UUID,
    body: CategoryUpdate,
    session: SessionDep,
    user: CatalogWriter,
) -> CategoryOut:
    """Change the fields sent of a category."""
    await load_store_for(session, user, store_id)
    category = await service.get_category(session, store_id, category_id)
    category = await service.update_category(session, category, body, actor=Actor.staff(user))
    return CategoryOut.model_validate(category)


@router.delete(
    "/categories/{category_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
async def delete_category(
    store_id: uuid.UUID, category_id: uuid.UUID, session: SessionDep, user: CatalogWriter
) -> Response:
    """Delete a category with all its items, option groups and options."""
    await load_store_for(session, user, store_id)
    category = await service.get_category(session, store_id, category_id)
    await service.delete_category(session, category, actor=Actor.staff(user))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/items", response_model=list[ItemOut])
async def list_items(
    store_id: uuid.UUID,
    session: SessionDep,
    user: CatalogReader,
    category_id: uuid.UUID | None = None,
) -> list[ItemOut]:
    """List the store's items, optionally of one category, by position, then name."""
    store = await load_store_for(session, user, store_id)
    items = await service.list_items(session, store_id, category_id)
    return [ItemOut.from_model(item, store.currency) for item in items]


@router.post("/items", response_model=ItemOut, status_code=status.HTTP_201_CREATED)
async def create_item(
    store_id: uuid.UUID, body: ItemCreate, session: SessionDep, user: CatalogWriter
) -> ItemOut:
    """Create an item in one of the store's categories."""
    store = await load_store_for(session, user, store_id)
    item = await service.create_item(session, store_id, body, actor=Actor.staff(user))
    return ItemOut.from_model(item, store.currency)


@router.get("/items/{item_id}", response_model=ItemOut)
async def get_item(
    store_id: uuid.UUID, item_id: uuid.UUID, session: SessionDep, user: CatalogReader
) -> ItemOut:
    """Return one item."""
    store = await load_store_for(session, user, store_id)
    item = await service.get_item(session, store_id, item_id)
    return ItemOut.from_model(item, store.currency)


@router.patch("/items/{item_id}", response_model=ItemOut)
async def update_item(
    store_id: uuid.UUID,
    item_id: uuid.UUID,
    body: ItemUpdate,
    session: SessionDep,
    user: CatalogWriter,
) -> ItemOut:
    """Change the fields sent of an item, which may move it to another category."""
    store = await load_store_for(session, user, store_id)
    item = await service.get_item(session, store_id, item_id)
    item = await service.update_item(session, item, body, actor=Actor.staff(user))
    return ItemOut.from_model(item, store.currency)


@router.delete("/items/{item_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_item(
    store_id: uuid.UUID, item_id: uuid.UUID, session: SessionDep, user: CatalogWriter
) -> Response:
    """Delete an item with its option groups and options. Past orders keep their copies."""
    await load_store_for(session, user, store_id)
    item = await service.get_item(session, store_id, item_id)
    await service.delete_item(session, item, actor=Actor.staff(user))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/option-groups", response_model=list[OptionGroupOut])
async def list_option_groups(
    store_id: uuid.UUID,
    session: SessionDep,
    user: CatalogReader,
    item_id: uuid.UUID | None = None,
) -> list[OptionGroupOut]:
    """List the store's option groups, optionally of one item, by position, then name."""
    await load_store_for(session, user, store_id)
    groups = await service.list_option_groups(session, store_id, item_id)
    return [OptionGroupOut.model_validate(group) for group in groups]


@router.post("/option-groups", response_model=OptionGroupOut, status_code=status.HTTP_201_CREATED)
async def create_option_group(
    store_id: uuid.UUID, body: OptionGroupCreate, session: SessionDep, user: CatalogWriter
) -> OptionGroupOut:
    """Create an option group on one of the store's items."""
    await load_store_for(session, user, store_id)
    group = await service.create_option_group(session, store_id, body, actor=Actor.staff(user))
    return OptionGroupOut.model_validate(group)


@router.get("/option-groups/{group_id}", response_model=OptionGroupOut)
async def get_option_group(
    store_id: uuid.UUID, group_id: uuid.UUID, session: SessionDep, user: CatalogReader
) -> OptionGroupOut:
    """Return one option group."""
    await load_store_for(session, user, store_id)
    group = await service.get_option_group(session, store_id, group_id)
    return OptionGroupOut.model_validate(group)


@router.patch("/option-groups/{group_id}", response_model=OptionGroupOut)
async def update_option_group(
    store_id: uuid.UUID,
    group_id: uuid.UUID,
    body: OptionGroupUpdate,
    session: SessionDep,
    user: CatalogWriter,
) -> OptionGroupOut:
    """Change the fields sent of an option group."""
    await load_store_for(session, user, store_id)
    group = await service.get_option_group(session, store_id, group_id)
    group = await service.update_option_group(session, group, body, actor=Actor.staff(user))
    return OptionGroupOut.model_validate(group)


@router.delete(
    "/option-groups/{group_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
async def delete_option_group(
    store_id: uuid.UUID, group_id: uuid.UUID, session: SessionDep, user: CatalogWriter
) -> Response:
    """Delete an option group with its options."""
    await load_store_for(session, user, store_id)
    group = await service.get_option_group(session, store_id, group_id)
    await service.delete_option_group(session, group, actor=Actor.staff(user))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/options", response_model=list[OptionOut])
async def list_options(
    store_id: uuid.UUID,
    session: SessionDep,
    user: CatalogReader,
    group_id: uuid.UUID | None = None,
) -> list[OptionOut]:
    """List the store's options, optionally of one group, by position, then name."""
    store = await load_store_for(session, user, store_id)
    options = await service.list_options(session, store_id, group_id)
    return [OptionOut.from_model(option, store.currency) for option in options]


@router.post("/options", response_model=OptionOut, status_code=status.HTTP_201_CREATED)
async def create_option(
    store_id: uuid.UUID, body: OptionCreate, session: SessionDep, user: CatalogWriter
) -> OptionOut:
    """Create an option in one of the store's option groups."""
    store = await load_store_for(session, user, store_id)
    option = await service.create_option(session, store_id, body, actor=Actor.staff(user))
    return OptionOut.from_model(option, store.currency)


@router.get("/options/{option_id}", response_model=OptionOut)
async def get_option(
    store_id: uuid.UUID, option_id: uuid.UUID, session: SessionDep, user: CatalogReader
) -> OptionOut:
    """Return one option."""
    store = await load_store_for(session, user, store_id)
    option = await service.get_option(session, store_id, option_id)
    return OptionOut.from_model(option, store.currency)


@router.patch("/options/{option_id}", response_model=OptionOut)
async def update_option(
    store_id: uuid.UUID,
    option_id: uuid.UUID,
    body: OptionUpdate,
    session: SessionDep,
    user: CatalogWriter,
) -> OptionOut:
    """Change the fields sent of an option, which may move it to another group."""
    store = await load_store_for(session, user, store_id)
    option = await service.get_option(session, store_id, option_id)
    option = await service.update_option(session, option, body, actor=Actor.staff(user))
    return OptionOut.from_model(option, store.currency)


@router.delete(
    "/options/{option_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
async def delete_option(
    store_id: uuid.UUID, option_id: uuid.UUID, session: SessionDep, user: CatalogWriter
) -> Response:
    """Delete an option."""
    await load_store_for(session, user, store_id)
    option = await service.get_option(session, store_id, option_id)
    await service.delete_option(session, option, actor=Actor.staff(user))
    return Response(status_code=status.HTTP_204_NO_CONTENT)

"""Login: a JSON call for clients and the OAuth2 password form for the docs' Authorize button."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from zapora.auth import service
from zapora.auth.schemas import LoginRequest, TokenResponse, UserOut
from zapora.auth.tokens import issue_access_token
from zapora.dependencies import CurrentUser, SessionDep, SettingsDep

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login", response_model=TokenResponse)
async def login(body: LoginRequest, session: SessionDep, settings: SettingsDep) -> TokenResponse:
    """Exchange an email and password for a bearer token."""
    user = await service.authenticate(session, email=body.email, password=body.password)
    token, lifetime = issue_access_token(settings, user_id=user.id, role=user.role)
    return TokenResponse(access_token=token, expires_in=lifetime)


@router.post("/token", response_model=TokenResponse)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
) -> TokenResponse:
    """OAuth2 password flow: the same login as a form, for the API docs."""
    user = await service.authenticate(session, email=form.username, password=form.password)
    access_token, lifetime = issue_access_token(settings, user_id=user.id, role=user.role)
    return TokenResponse(access_token=access_token, expires_in=lifetime)


@router.get("/me", response_model=UserOut)
async def me(user: CurrentUser) -> UserOut:
    """Return the caller's account."""
    return UserOut.model_validate(user)

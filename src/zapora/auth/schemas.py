from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from zapora.auth.service import MIN_PASSWORD_LENGTH

MAX_PASSWORD_LENGTH = 1024
FullName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105
    expires_in: int = Field(description="Lifetime of the access token in seconds.")
    refresh_expires_in: int = Field(description="Lifetime of the refresh token in seconds.")


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(min_length=1, max_length=512)


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    new_password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    full_name: str | None = None
    role: str
    store_id: uuid.UUID | None
    is_active: bool


class StaffRole(StrEnum):
    """The roles a store's staff can hold; platform admins are created only from the CLI."""

    STORE_MANAGER = "store_manager"
    STORE_STAFF = "store_staff"
    COURIER = "courier"


class StaffCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    full_name: FullName | None = Field(
        default=None,
        description="Shown to staff; customers see a courier's first name only.",
    )
    role: StaffRole
    password: str | None = Field(
        default=None,
        min_length=MIN_PASSWORD_LENGTH,
        max_length=MAX_PASSWORD_LENGTH,
        description="Initial password; leave it out to receive a random one in the response.",
    )


class StaffUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full_name: FullName | None = Field(
        default=None,
        description="Shown to staff; customers see a courier's first name only.",
    )
    role: StaffRole | None = None
    is_active: bool | None = None


class StaffOut(UserOut):
    created_at: datetime


class StaffCreated(StaffOut):
    initial_password: str | None = Field(
        default=None,
        description="The generated password, returned only here and only when none was sent.",
    )

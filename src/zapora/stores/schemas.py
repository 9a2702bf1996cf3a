"""Request and response bodies of the store API."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from zapora.payments.pix import (
    MAX_CITY_LENGTH,
    MAX_NAME_LENGTH,
    merchant_text,
    normalize_pix_key,
)
from zapora.stores.models import Language, Store, TypedAddressPolicy

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
# Prices and fees are stored in 32-bit integer columns (at most 2,147,483,647), so each
# amount is capped far below that. Order totals multiply them and need their own check.
MAX_AMOUNT = 10_000_000

StoreName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=120, pattern=r"^[^\x00-\x1f\x7f]*$"
    ),
]
Slug = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=SLUG_PATTERN)]
TimeZoneName = Annotated[str, StringConstraints(min_length=1, max_length=64)]
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
PhoneNumberId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
]
AccessToken = Annotated[str, StringConstraints(min_length=1, max_length=512, pattern=r"^[!-~]+$")]
# Strict, so JSON true or "100" is rejected instead of read as 1 or 100.
Amount = Annotated[StrictInt, Field(ge=0, le=MAX_AMOUNT)]
# Minutes before closing time after which orders are rejected, at most half a day.
LeadMinutes = Annotated[int, Field(ge=0, le=720)]
PixKeyText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
# WhatsApp template names: lowercase letters, digits and underscores, at most 512 characters.
TemplateName = Annotated[
    str, StringConstraints(min_length=1, max_length=512, pattern=r"^[a-z0-9_]+$")
]
# WhatsApp template language codes such as "pt_BR", "en_US" or "en".
TemplateLanguage = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")]
TemplateParameter = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
# Seconds a courier has to accept or decline an offer, a chosen range of 10 s to 15 min.
OfferSeconds = Annotated[int, Field(ge=10, le=900)]
PixMerchantText = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$"
    ),
]


class StoreCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: Slug = Field(description="Public name in menu links: lowercase letters, digits, hyphens.")
    name: StoreName
    time_zone: TimeZoneName = Field(default="America/Sao_Paulo", description="IANA time zone.")
    currency: CurrencyCode = Field(default="BRL", description="ISO 4217 code, such as BRL.")
    language: Language = Language.PT_BR
    whatsapp_phone_number_id: PhoneNumberId | None = None
    whatsapp_access_token: AccessToken | None = Field(default=None, description="Write-only.")
    delivery_fee: Amount = Field(default=0, description="Minor units of the store's currency.")
    minimum_order: Amount = Field(default=0, description="Minor units of the store's currency.")
    is_open: bool = True


class StoreUpdate(BaseModel):
    """Partial update body. Only the fields sent change, and ``null`` clears a WhatsApp field."""

    model_config = ConfigDict(extra="forbid")
    nullable_fields: ClassVar[frozenset[str]] = frozenset(
        {
            "whatsapp_phone_number_id",
            "whatsapp_access_token",
            "pix_key",
            "pix_merchant_name",
            "pix_merchant_city",
            "latitude",
            "longitude",
            "update_template_name",
            "update_template_language",
        }
    )

    name: StoreName | None = None
    time_zone: TimeZoneName | None = None
    language: Language | None = None
    whatsapp_phone_number_id: PhoneNumberId | None = None
    whatsapp_access_token: AccessToken | None = Field(default=None, description="Write-only.")
    delivery_fee: Amount | None = None
    minimum_order: Amount | None = None
    is_open: bool | None = None
    last_order_lead_minutes: LeadMinutes | None = Field(
        default=None, description="Orders are rejected this many minutes before closing time."
    )
    pix_key: PixKeyText | None = Field(
        default=None,
        description="PIX key receiving payments: a CPF, CNPJ, e-mail, +55 phone number or "
        "random key (UUID). Null turns PIX codes off.",
    )
    pix_merchant_name: PixMerchantText | None = Field(
        default=None,
        description=f"Receiver name in PIX codes, cut to {MAX_NAME_LENGTH} characters "
        "without accents. Defaults to the store name.",
    )
    pix_merchant_city: PixMerchantText | None = Field(
        default=None,
        description=f"Receiver city in PIX codes, cut to {MAX_CITY_LENGTH} characters "
        "without accents. Needed for PIX codes.",
    )
    latitude: Latitude | None = Field(
        default=None,
        description="Where orders leave from, in degrees, sent together with longitude. The centre "
        "of radius delivery zones. Null clears the location (not while radius zones are active).",
    )
    longitude: Longitude | None = Field(
        default=None,
        description="Where orders leave from, in degrees, sent together with latitude.",
    )
    typed_address_policy: TypedAddressPolicy | None = Field(
        default=None,
        description="A delivery address typed without a location pin, in a store with delivery "
        "zones: 'confirm_fee' accepts the order with the flat delivery_fee as a provisional fee "
        "that staff confirm before accepting it; 'refuse' asks the customer for a pin.",
    )
    update_template_name: TemplateName | None = Field(
        default=None,
        description="Approved WhatsApp template sent for order updates outside the 24-hour "
        "window. Null turns the template off.",
    )
    update_template_language: TemplateLanguage | None = Field(
        default=None,
        description="Language code of that template, such as pt_BR. Null uses the store's "
        "language.",
    )
    update_template_parameters: list[TemplateParameter] | None = Field(
        default=None,
        max_length=10,
        description="Names of the values filled into the template body, in order, such as "
        '["order_number", "status"].',
    )
    courier_offer_seconds: OfferSeconds | None = Field(
        default=None,
        description="Seconds a courier has to accept or decline an automatic delivery offer.",
    )

    @field_validator("*")
    @classmethod
    def _reject_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.nullable_fields:
            raise ValueError(
                f"{info.field_name} must not be null. Omit it to keep the current value."
            )
        return value

    @field_validator("pix_key")
    @classmethod
    def _normalize_pix_key(cls, value: str | None) -> str | None:
        return None if value is None else normalize_pix_key(value)

    @field_validator("pix_merchant_name", "pix_merchant_city")
    @classmethod
    def _require_code_characters(cls, value: str | None) -> str | None:
        # PIX codes keep only unaccented letters, digits, spaces and .&'- of these fields.
        if value is not None and not merchant_text(value, len(value)):
            raise ValueError("must contain letters or digits")
        return value


class StoreOut(BaseModel):
    id: uuid.UUID
    slug: str
    name: str
    time_zone: str
    currency: str
    language: str
    whatsapp_phone_number_id: str | None
    has_whatsapp_access_token: bool
    delivery_fee: int
    minimum_order: int
    is_open: bool
    last_order_lead_minutes: int
    pix_key: str | None
    pix_merchant_name: str | None
    pix_merchant_city: str | None
    latitude: float | None
    longitude: float | None
    typed_address_policy: str
    update_template_name: str | None
    update_template_language: str | None
    update_template_parameters: list[str]
    courier_offer_seconds: int

    @classmethod
    def from_model(cls, store: Store) -> StoreOut:
        return cls(
            id=store.id,
            slug=store.slug,
            name=store.name,
            time_zone=store.time_zone,
            currency=store.currency,
            language=store.language,
            whatsapp_phone_number_id=store.whatsapp_phone_number_id,
            has_whatsapp_access_token=bool(store.whatsapp_access_token),
            delivery_fee=store.delivery_fee,
            minimum_order=store.minimum_order,
            is_open=store.is_open,
            last_order_lead_minutes=store.last_order_lead_minutes,
            pix_key=store.pix_key,
            pix_merchant_name=store.pix_merchant_name,
            pix_merchant_city=store.pix_merchant_city,
            latitude=store.latitude,
            longitude=store.longitude,
            typed_address_policy=store.typed_address_policy,
            update_template_name=store.update_template_name,
            update_template_language=store.update_template_language,
            update_template_parameters=list(store.update_template_parameters or []),
            courier_offer_seconds=store.courier_offer_seconds,
        )

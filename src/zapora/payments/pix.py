"""Static PIX "copia e cola" codes: the Banco Central's BR Code, encoded and decoded.

A BR Code is an EMV merchant-presented QR payload: a run of TLV fields, each a two-digit
id, a two-digit length and the value, ending with field 63, a CRC16/CCITT-FALSE checksum
of everything before it including "6304". Lengths count characters, which are bytes here
because every value is ASCII.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

PIX_GUI = "br.gov.bcb.pix"
PAYLOAD_FORMAT = "01"
MERCHANT_CATEGORY_CODE = "0000"
CURRENCY_BRL = "986"
COUNTRY_BR = "BR"
NO_TXID = "***"

MAX_NAME_LENGTH = 25
MAX_CITY_LENGTH = 15
MAX_TXID_LENGTH = 25
MAX_AMOUNT_LENGTH = 13
# Field 26 contains the 18-character GUI field and the key field (4 characters of id and
# length), and a TLV value is at most 99 characters, so a key has at most 77.
MAX_KEY_LENGTH = 77

ID_PAYLOAD_FORMAT = "00"
ID_MERCHANT_ACCOUNT = "26"
ID_CATEGORY = "52"
ID_CURRENCY = "53"
ID_AMOUNT = "54"
ID_COUNTRY = "58"
ID_NAME = "59"
ID_CITY = "60"
ID_ADDITIONAL_DATA = "62"
ID_CRC = "63"
SUB_ID_GUI = "00"
SUB_ID_KEY = "01"
SUB_ID_TXID = "05"

_TXID_PATTERN = re.compile(r"^[A-Za-z0-9]{1,25}$")
# Merchant name and city keep letters, digits, spaces and a little punctuation.
_DISALLOWED_TEXT = re.compile(r"[^A-Za-z0-9 .&'-]")
_EMAIL_PATTERN = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")
_PHONE_PATTERN = re.compile(r"^\+55[1-9][0-9]\d{8,9}$")
_DOCUMENT_SEPARATORS = re.compile(r"[.\-/ ]")
_RANDOM_KEY_PATTERN = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)


class PixCodeError(ValueError):
    """A BR Code that cannot be built or read."""


@dataclass(frozen=True)
class PixPayload:
    """The fields of a static PIX code. ``amount`` is in centavos, None for any amount."""

    key: str
    merchant_name: str
    merchant_city: str
    amount: int | None = None
    txid: str = NO_TXID


@dataclass(frozen=True)
class DecodedPix:
    """A decoded BR Code: the PIX fields plus every top-level field as read."""

    key: str
    merchant_name: str
    merchant_city: str
    amount: int | None
    txid: str | None
    currency: str
    country: str
    merchant_category_code: str
    fields: dict[str, str]


def crc16_ccitt(data: bytes) -> int:
    """Return the CRC16/CCITT-FALSE of ``data``: polynomial 0x1021, start 0xFFFF, no reflection."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = (crc << 1) ^ 0x1021 if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def _field(field_id: str, value: str) -> str:
    if not value:
        raise PixCodeError(f"Field {field_id} is empty.")
    if len(value) > 99:
        raise PixCodeError(f"Field {field_id} has {len(value)} characters; the maximum is 99.")
    return f"{field_id}{len(value):02d}{value}"


def merchant_text(value: str, limit: int) -> str:
    """Reduce a name or city to the characters bank apps accept and cut it to ``limit``.

    Accents are removed (São becomes Sao), other characters outside letters, digits,
    spaces and ``.&'-`` are dropped, and runs of spaces are collapsed.
    """
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    cleaned = " ".join(_DISALLOWED_TEXT.sub("", ascii_text).split())
    return cleaned[:limit].rstrip()


def format_amount(amount: int) -> str:
    """Format centavos as the amount field expects: a dot and two decimals, as in 103.00."""
    if amount <= 0:
        raise PixCodeError(f"The amount must be positive, not {amount} centavos.")
    text = f"{amount // 100}.{amount % 100:02d}"
    if len(text) > MAX_AMOUNT_LENGTH:
        raise PixCodeError(f"The amount {text} is longer than {MAX_AMOUNT_LENGTH} characters.")
    return text


def encode(payload: PixPayload) -> str:
    """Build the "copia e cola" code, CRC included.

    Name and city pass through ``merchant_text`` and keep their case. Raises PixCodeError
    when a field is empty after that, the key is too long, or the txid is invalid.
    """
    name = merchant_text(payload.merchant_name, MAX_NAME_LENGTH)
    city = merchant_text(payload.merchant_city, MAX_CITY_LENGTH)
    if len(payload.key) > MAX_KEY_LENGTH:
        raise PixCodeError(f"The PIX key has more than {MAX_KEY_LENGTH} characters.")
    if payload.txid != NO_TXID and not _TXID_PATTERN.fullmatch(payload.txid):
        raise PixCodeError(
            f"Invalid txid '{payload.txid}': use 1 to 25 letters and digits, or '***'."
        )
    account = _field(SUB_ID_GUI, PIX_GUI) + _field(SUB_ID_KEY, payload.key)
    parts = [
        _field(ID_PAYLOAD_FORMAT, PAYLOAD_FORMAT),
        _field(ID_MERCHANT_ACCOUNT, account),
        _field(ID_CATEGORY, MERCHANT_CATEGORY_CODE),
        _field(ID_CURRENCY, CURRENCY_BRL),
    ]
    if payload.amount is not None:
        parts.append(_field(ID_AMOUNT, format_amount(payload.amount)))
    parts += [
        _field(ID_COUNTRY, COUNTRY_BR),
        _field(ID_NAME, name),
        _field(ID_CITY, city),
        _field(ID_ADDITIONAL_DATA, _field(SUB_ID_TXID, payload.txid)),
    ]
    body = "".join(parts) + ID_CRC + "04"
    return body + f"{crc16_ccitt(body.encode('ascii')):04X}"


def parse_tlv(text: str) -> dict[str, str]:
    """Split a run of TLV fields into a dict of id to value; raise PixCodeError if malformed."""
    fields: dict[str, str] = {}
    position = 0
    while position < len(text):
        header = text[position : position + 4]
        if len(header) < 4 or not header.isdigit():
            raise PixCodeError(f"Malformed field header '{header}' at position {position}.")
        field_id, length = header[:2], int(header[2:])
        value = text[position + 4 : position + 4 + length]
        if len(value) != length:
            raise PixCodeError(f"Field {field_id} is cut short at position {position}.")
        if field_id in fields:
            raise PixCodeError(f"Field {field_id} appears twice.")
        fields[field_id] = value
        position += 4 + length
    return fields


def _parse_amount(text: str) -> int:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise PixCodeError(f"Invalid amount '{text}'.") from None
    centavos = value * 100
    if not value.is_finite() or value <= 0 or centavos != centavos.to_integral_value():
        raise PixCodeError(f"Invalid amount '{text}'.")
    return int(centavos)


def _check_crc(code: str) -> None:
    if len(code) < 8 or code[-8:-4] != ID_CRC + "04":
        raise PixCodeError("The code does not end with the CRC field 6304.")
    expected = code[-4:].upper()
    actual = f"{crc16_ccitt(code[:-4].encode('ascii')):04X}"
    if expected != actual:
        raise PixCodeError(f"CRC mismatch: the code has {expected}, its content gives {actual}.")


def decode(code: str) -> DecodedPix:
    """Parse a static PIX code and verify its CRC; raise PixCodeError if it is not one."""
    if not code.isascii():
        raise PixCodeError("The code contains characters outside ASCII.")
    _check_crc(code)
    fields = parse_tlv(code)
    if not code.startswith(_field(ID_PAYLOAD_FORMAT, PAYLOAD_FORMAT)):
        raise PixCodeError("The code does not start with payload format indicator 01.")
    account = parse_tlv(fields.get(ID_MERCHANT_ACCOUNT, ""))
    if account.get(SUB_ID_GUI, "").lower() != PIX_GUI or SUB_ID_KEY not in account:
        raise PixCodeError("Field 26 does not contain a br.gov.bcb.pix key.")
    for required in (ID_CATEGORY, ID_CURRENCY, ID_COUNTRY, ID_NAME, ID_CITY):
        if required not in fields:
            raise PixCodeError(f"Required field {required} is missing.")
    additional = parse_tlv(fields.get(ID_ADDITIONAL_DATA, ""))
    amount = fields.get(ID_AMOUNT)
    return DecodedPix(
        key=account[SUB_ID_KEY],
        merchant_name=fields[ID_NAME],
        merchant_city=fields[ID_CITY],
        amount=_parse_amount(amount) if amount is not None else None,
        txid=additional.get(SUB_ID_TXID),
        currency=fields[ID_CURRENCY],
        country=fields[ID_COUNTRY],
        merchant_category_code=fields[ID_CATEGORY],
        fields=fields,
    )


def make_txid(order_number: int, order_id: uuid.UUID) -> str:
    """Derive an order's txid: ZAP, its number and the start of its id, 25 characters at most."""
    return f"ZAP{order_number}{order_id.hex.upper()}"[:MAX_TXID_LENGTH]


def _check_digit(digits: str, weights: range | list[int]) -> int:
    remainder = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    return 0 if remainder < 2 else 11 - remainder


def _valid_cpf(digits: str) -> bool:
    if len(set(digits)) == 1:
        return False
    first = _check_digit(digits[:9], range(10, 1, -1))
    second = _check_digit(digits[:10], range(11, 1, -1))
    return digits[9:] == f"{first}{second}"


def _valid_cnpj(digits: str) -> bool:
    if len(set(digits)) == 1:
        return False
    weights = [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]
    first = _check_digit(digits[:12], weights[1:])
    second = _check_digit(digits[:13], weights)
    return digits[12:] == f"{first}{second}"


def normalize_pix_key(value: str) -> str:
    """Return a PIX key in the form the DICT directory stores it, or raise ValueError.

    Accepted keys are a CPF (11 digits) or CNPJ (14 digits) with valid check digits and
    optional punctuation, an e-mail address, a Brazilian phone number (+55, the area code
    and the number) and a random key (a UUID). E-mail and random keys are lower-cased.
    """
    text = value.strip()
    if text.startswith("+"):
        phone = "+" + re.sub(r"[\s().-]", "", text[1:])
        if _PHONE_PATTERN.fullmatch(phone):
            return phone
        raise ValueError("a phone key must be +55, a 2-digit area code and 8 or 9 digits")
    if "@" in text:
        if len(text) <= MAX_KEY_LENGTH and _EMAIL_PATTERN.fullmatch(text):
            return text.lower()
        raise ValueError(
            f"invalid e-mail key: use a plain address of at most {MAX_KEY_LENGTH} characters"
        )
    digits = _DOCUMENT_SEPARATORS.sub("", text)
    if digits.isascii() and digits.isdigit():
        if len(digits) == 11 and _valid_cpf(digits):
            return digits
        if len(digits) == 14 and _valid_cnpj(digits):
            return digits
        raise ValueError("a CPF key has 11 digits and a CNPJ key 14, with valid check digits")
    if _RANDOM_KEY_PATTERN.fullmatch(text):
        return text.lower()
    raise ValueError("use a CPF, CNPJ, e-mail, +55 phone number or random key (UUID)")

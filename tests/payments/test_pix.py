"""BR Code encoding and decoding, checked against the published example and round trips."""

from __future__ import annotations

import random
import string
import uuid

import pytest

from zapora.payments.pix import (
    NO_TXID,
    PixCodeError,
    PixPayload,
    crc16_ccitt,
    decode,
    encode,
    format_amount,
    make_txid,
    merchant_text,
    normalize_pix_key,
    parse_tlv,
)

# The static example of the Banco Central's BR Code manual: no amount, txid "***".
SPEC_KEY = "123e4567-e12b-12d1-a456-426655440000"
SPEC_CODE = (
    "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-426655440000"
    "5204000053039865802BR5913Fulano de Tal6008BRASILIA62070503***63041D3D"
)
VALID_CPF = "52998224725"
VALID_CNPJ = "11222333000181"


def test_crc_check_value():
    assert crc16_ccitt(b"123456789") == 0x29B1


def test_crc_of_published_example():
    assert f"{crc16_ccitt(SPEC_CODE[:-4].encode()):04X}" == "1D3D"


def test_crc_of_empty_input_is_initial_value():
    assert crc16_ccitt(b"") == 0xFFFF


def test_encode_reproduces_published_example():
    payload = PixPayload(key=SPEC_KEY, merchant_name="Fulano de Tal", merchant_city="BRASILIA")

    assert encode(payload) == SPEC_CODE


def test_decode_published_example():
    decoded = decode(SPEC_CODE)

    assert decoded.key == SPEC_KEY
    assert decoded.merchant_name == "Fulano de Tal"
    assert decoded.merchant_city == "BRASILIA"
    assert decoded.amount is None
    assert decoded.txid == NO_TXID
    assert decoded.currency == "986"
    assert decoded.country == "BR"
    assert decoded.merchant_category_code == "0000"
    assert decoded.fields["63"] == "1D3D"


def test_encode_amount_field_layout():
    payload = PixPayload(
        key=VALID_CPF,
        merchant_name="Pizzaria Bella",
        merchant_city="Sao Paulo",
        amount=10300,
        txid="ZAP12ABC",
    )
    code = encode(payload)

    assert code.startswith("000201" + "2633" + "0014br.gov.bcb.pix" + "0111" + VALID_CPF)
    assert "5204000053039865406103.005802BR" in code
    assert "5914Pizzaria Bella6009Sao Paulo" in code
    assert "62120508ZAP12ABC6304" in code
    assert code[-4:] == f"{crc16_ccitt(code[:-4].encode()):04X}"
    assert code[-4:].isupper() or code[-4:].isdigit()


@pytest.mark.parametrize(
    ("centavos", "text"),
    [(1, "0.01"), (99, "0.99"), (100, "1.00"), (10300, "103.00"), (123456, "1234.56")],
)
def test_format_amount(centavos, text):
    assert format_amount(centavos) == text


@pytest.mark.parametrize("centavos", [0, -1, 10**13])
def test_format_amount_rejects_out_of_range(centavos):
    with pytest.raises(PixCodeError):
        format_amount(centavos)


def _random_key(rng: random.Random) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        return str(uuid.UUID(int=rng.getrandbits(128)))
    if kind == 1:
        local = "".join(rng.choices(string.ascii_lowercase + string.digits + "._", k=12))
        return f"a{local}@example.com.br"
    if kind == 2:
        return "+55" + str(rng.randrange(11, 100)) + "9" + "".join(rng.choices("0123456789", k=8))
    return "".join(rng.choices(string.digits, k=rng.choice((11, 14))))


def _random_text(rng: random.Random, length: int) -> str:
    alphabet = string.ascii_letters + string.digits + " ãçéÔ&-.'!@#"
    return "A" + "".join(rng.choices(alphabet, k=length))


def test_round_trip_many_payloads():
    rng = random.Random(20240611)
    for _ in range(500):
        amount = rng.choice([None, 1, 99, 100, rng.randrange(1, 2**31)])
        txid = rng.choice(
            [NO_TXID, "".join(rng.choices(string.ascii_letters + string.digits, k=25))]
        )
        payload = PixPayload(
            key=_random_key(rng),
            merchant_name=_random_text(rng, rng.randrange(0, 60)),
            merchant_city=_random_text(rng, rng.randrange(0, 40)),
            amount=amount,
            txid=txid,
        )
        code = encode(payload)
        decoded = decode(code)

        assert code.isascii()
        assert code[-4:] == f"{crc16_ccitt(code[:-4].encode()):04X}"
        assert decoded.key == payload.key
        assert decoded.amount == amount
        assert decoded.txid == txid
        assert decoded.merchant_name == merchant_text(payload.merchant_name, 25)
        assert decoded.merchant_city == merchant_text(payload.merchant_city, 15)
        assert 1 <= len(decoded.merchant_name) <= 25
        assert 1 <= len(decoded.merchant_city) <= 15
        assert encode(payload) == code


def test_decode_rejects_changed_character():
    for position in (10, 60, 100, len(SPEC_CODE) - 9):
        changed = SPEC_CODE[:position] + "#" + SPEC_CODE[position + 1 :]
        with pytest.raises(PixCodeError):
            decode(changed)


def test_decode_rejects_wrong_crc():
    with pytest.raises(PixCodeError, match="CRC mismatch"):
        decode(SPEC_CODE[:-4] + "1D3E")


def test_decode_accepts_lower_case_crc():
    assert decode(SPEC_CODE[:-4] + "1d3d").key == SPEC_KEY


@pytest.mark.parametrize(
    "code",
    ["", "0002", "000201", "not a code", SPEC_CODE[:-8], "São" + SPEC_CODE],
)
def test_decode_rejects_malformed(code):
    with pytest.raises(PixCodeError):
        decode(code)


def _with_crc(body: str) -> str:
    body += "6304"
    return body + f"{crc16_ccitt(body.encode()):04X}"


def test_decode_rejects_other_gui():
    body = "000201" + "2626" + "0008br.other" + "0110abcdefghij" + "52040000530398658"
    body += "02BR5901A6001B62070503***"
    with pytest.raises(PixCodeError, match=r"br\.gov\.bcb\.pix"):
        decode(_with_crc(body))


def test_decode_rejects_missing_city():
    body = "000201" + "26300014br.gov.bcb.pix0108abcdefgh" + "52040000530398658"
    body += "02BR5901A62070503***"
    with pytest.raises(PixCodeError, match="60"):
        decode(_with_crc(body))


def test_parse_tlv_rejects_cut_value():
    with pytest.raises(PixCodeError):
        parse_tlv("0005abc")


def test_encode_rejects_invalid_txid():
    for txid in ("", "with space", "A" * 26, "ação"):
        payload = PixPayload(key=VALID_CPF, merchant_name="A", merchant_city="B", txid=txid)
        with pytest.raises(PixCodeError):
            encode(payload)


def test_encode_rejects_empty_name():
    payload = PixPayload(key=VALID_CPF, merchant_name="—!!", merchant_city="B")
    with pytest.raises(PixCodeError):
        encode(payload)


def test_merchant_text_strips_accents_and_cuts():
    assert merchant_text("São João da Boa Vista", 15) == "Sao Joao da Boa"
    assert merchant_text("Açaí  &  Cia — Ltda!", 25) == "Acai & Cia Ltda"
    assert merchant_text("Loja 😀 Número 1", 25) == "Loja Numero 1"


def test_txid_from_order():
    order_id = uuid.UUID("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")

    assert make_txid(42, order_id) == "ZAP420F1E2D3C4B5A69788796"
    assert len(make_txid(123456789, order_id)) == 25
    assert make_txid(1, order_id).isalnum()


@pytest.mark.parametrize(
    ("value", "normalized"),
    [
        (VALID_CPF, VALID_CPF),
        ("529.982.247-25", VALID_CPF),
        (VALID_CNPJ, VALID_CNPJ),
        ("11.222.333/0001-81", VALID_CNPJ),
        ("Loja@Example.com", "loja@example.com"),
        ("+5511912345678", "+5511912345678"),
        ("+55 (11) 91234-5678", "+5511912345678"),
        ("+551133334444", "+551133334444"),
        (SPEC_KEY.upper(), SPEC_KEY),
    ],
)
def test_normalize_pix_key_accepts(value, normalized):
    assert normalize_pix_key(value) == normalized


@pytest.mark.parametrize(
    "value",
    [
        "52998224724",  # wrong CPF check digit
        "11111111111",
        "11222333000182",  # wrong CNPJ check digit
        "123456789012",
        "+1415555123",
        "+55119123",
        "+5501912345678",
        "not-a-key",
        "loja@",
        "a b@example.com",
        "x" * 70 + "@example.com",
        "123e4567e12b12d1a456426655440000",
        "{123e4567-e12b-12d1-a456-42665544000}",
        "",
    ],
)
def test_normalize_pix_key_rejects(value):
    with pytest.raises(ValueError, match=r"CPF|phone|e-mail"):
        normalize_pix_key(value)

"""Money is integer minor units plus an ISO 4217 code; this formats it for people."""

from __future__ import annotations

_SYMBOLS = {"BRL": "R$", "USD": "US$", "EUR": "€"}
_MINOR_DIGITS = {"JPY": 0, "CLP": 0, "KRW": 0}


def format_money(amount: int, currency: str, language: str = "pt-BR") -> str:
    """Format minor units as text: ``format_money(3050, "BRL")`` gives ``R$ 30,50``."""
    digits = _MINOR_DIGITS.get(currency, 2)
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10**digits) if digits else (abs(amount), 0)
    symbol = _SYMBOLS.get(currency, currency)
    if language == "pt-BR":
        grouped = f"{whole:,}".replace(",", ".")
        number = f"{grouped},{fraction:0{digits}d}" if digits else grouped
    else:
        grouped = f"{whole:,}"
        number = f"{grouped}.{fraction:0{digits}d}" if digits else grouped
    return f"{sign}{symbol} {number}"

"""Every text the bot sends, one module per language; pt-BR is the default."""

from __future__ import annotations

from typing import Any

from zapora.whatsapp.texts import en, pt_br

CATALOGS: dict[str, dict[str, str]] = {"pt-BR": pt_br.TEXTS, "en": en.TEXTS}
DEFAULT_LANGUAGE = "pt-BR"


def text(language: str, key: str, **values: Any) -> str:
    """Return the text ``key`` in ``language`` (pt-BR when unknown) with ``values`` filled in."""
    catalog = CATALOGS.get(language, CATALOGS[DEFAULT_LANGUAGE])
    return catalog[key].format(**values)

"""QR code images of payment codes."""

from __future__ import annotations

import io

import segno

# Medium error correction survives a smudged or partly covered screen or print-out.
ERROR_CORRECTION = "m"


def qr_png(content: str, *, scale: int = 8, border: int = 4) -> bytes:
    """Render ``content`` as a PNG QR code; ``scale`` is pixels per module, ``border`` modules."""
    qr = segno.make_qr(content, error=ERROR_CORRECTION)
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=scale, border=border)
    return buffer.getvalue()

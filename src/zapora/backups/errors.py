"""The error every backup and restore failure raises, with the fix for the operator."""

from __future__ import annotations


class BackupError(Exception):
    """A failed backup or restore: ``detail`` names what failed and ``fix`` the remedy."""

    def __init__(self, detail: str, *, fix: str) -> None:
        super().__init__(f"{detail} ({fix})")
        self.detail = detail
        self.fix = fix

"""Zapora: a multi-store backend for selling for delivery through WhatsApp."""

__version__ = "0.1.0"

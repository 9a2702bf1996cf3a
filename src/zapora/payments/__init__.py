"""Payments: static PIX codes for orders and staff marking payments as received."""

"""Couriers, their shifts and positions, delivery offers and proof of delivery."""

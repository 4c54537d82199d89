"""Shared infrastructure: no business rules live here."""

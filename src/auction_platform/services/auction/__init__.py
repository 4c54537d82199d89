"""The auction service."""

"""The bidding service."""

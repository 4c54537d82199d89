"""Auction platform."""

"""Contracts shared by producers and consumers: event envelopes and schemas."""

"""The gateway: the public front door."""

"""Tables of the bidding service."""

from auction_platform.core.service import service_tables

TABLES = service_tables("bidding")

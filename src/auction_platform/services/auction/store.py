"""Tables of the auction service."""

from auction_platform.core.service import service_tables

TABLES = service_tables("auction")

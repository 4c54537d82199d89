"""Tables of the identity service."""

from auction_platform.core.service import service_tables

TABLES = service_tables("identity")

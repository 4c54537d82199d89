"""Tables of the payment service."""

from auction_platform.core.service import service_tables

TABLES = service_tables("payment")

"""``python -m auction_platform`` runs the command-line interface."""

from auction_platform.cli import main

main()

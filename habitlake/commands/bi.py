"""`habitlake` commands: bi (to be filled)."""
from __future__ import annotations


def register(sub) -> None:
    """Add this group's subcommands to the parser's subparsers `sub`."""

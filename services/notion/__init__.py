"""The notion service."""

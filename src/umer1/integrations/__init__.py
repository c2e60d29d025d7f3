"""Bridges to other tools (mteb)."""

"""Compose: cell text to Go files and a line table. Pure: no processes."""

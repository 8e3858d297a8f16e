"""Processes: spawning under a supervisor, streams, stdin, limits, interrupts."""

"""Run: a built program (foreground or background), its value channel and limits."""

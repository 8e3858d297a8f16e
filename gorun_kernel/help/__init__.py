"""Help while typing: completion and inspection of Go cells (typed through the Go helper,
untyped from the standard-library index)."""

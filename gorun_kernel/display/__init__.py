"""The display channel, kernel side: frames a Go program sends (HTML, images, updates)."""

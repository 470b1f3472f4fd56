"""The `ion` namespace that Torrent Suite plugins import from (torrentlite's Django-free edition)."""

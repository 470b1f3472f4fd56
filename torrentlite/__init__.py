"""torrentlite: the Torrent Suite rundb API and plugin framework for one box."""

__version__ = "0.1.0"

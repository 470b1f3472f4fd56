"""ion.utils: the helpers from the Torrent Suite pipeline that plugins import."""

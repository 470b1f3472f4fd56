"""Data management: file categories of each report, archive/export/delete, automatic actions, downloads."""

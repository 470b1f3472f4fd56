"""Column definitions for the manual-launch barcode table (the vocabulary the report page understands)."""

__all__ = ["COLUMN_TYPE", "AVAILABLE_COLUMNS", "available_columns"]

COLUMN_TYPE = ("custom_checkbox", "custom_input", "custom_dropdown")

AVAILABLE_COLUMNS = [
    {"field": "selected", "editable": True},
    {"field": "barcode_name", "editable": False},
    {"field": "sample", "editable": False},
    {"field": "files_BAM", "editable": False},
    {"field": "files_VCF", "editable": False},
    {"field": "reference", "editable": True},
    {"field": "target_region_filepath", "editable": True},
    {"field": "hotspot_filepath", "editable": True},
    {"field": "nucleotide_type", "editable": False},
]


def available_columns():
    """A fresh copy of the standard columns, so callers may edit `editable` without side effects."""
    return [dict(column) for column in AVAILABLE_COLUMNS]

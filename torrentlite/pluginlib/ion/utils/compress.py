"""make_zip: add one file to a zip archive, as the pipeline's ion.utils.compress does."""
from __future__ import print_function

import os
import traceback
import zipfile

from .blockprocessing import printtime

__all__ = ["make_zip"]


def make_zip(zip_file, to_zip, arcname=None, use_sys_zip=True, compressed=True):
    """Add file `to_zip` to archive `zip_file` (created if absent, appended to otherwise).

    With `use_sys_zip` (the default) the entry is named as the `zip` command names it: `to_zip` without a
    leading `/`, or only its base name when `arcname` is given (`zip --junk-paths`). Without it the entry is
    named `arcname` (or `to_zip`). A missing `to_zip` is reported and changes nothing.
    """
    compression = zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED
    printtime("compressed" if compressed else "not compressed")
    if not os.path.exists(to_zip):
        printtime("File %s not found.  Zipfile %s not created/updated." % (to_zip, zip_file))
        return
    if use_sys_zip:
        name = os.path.basename(to_zip) if arcname is not None else os.path.normpath(to_zip).lstrip("/")
    else:
        name = arcname if arcname is not None else to_zip
    try:
        archive = zipfile.ZipFile(zip_file, mode="a", compression=compression, allowZip64=True)
    except (IOError, OSError, zipfile.BadZipfile):
        printtime("Unexpected error creating zip")
        traceback.print_exc()
        return
    try:
        archive.write(to_zip, name, compress_type=compression)
    except (IOError, OSError):
        print("OSError with - :", to_zip)
    except zipfile.LargeZipFile:
        printtime("The zip file was too large, ZIP64 extensions could not be enabled")
    finally:
        archive.close()

#!/usr/bin/env python3
# Copyright (C) 2013 Ion Torrent Systems, Inc. All Rights Reserved

#
# Samples: BarcodesExample
# plugin demonstrating how to iterate over the barcodes of a run
#

import json
import os
from functools import cached_property
from ion.plugin import *
from subprocess import check_output


class BarcodesExample(IonPlugin):
    # The version number for this plugin
    version = "5.4.0.0"

    # this plugin can run on fullchip runs, thumbnail runs, and composite (merged via project page) runs
    # note that when the plugin is manually launched, only the 'launch' method will be called
    runtypes = [RunType.FULLCHIP, RunType.THUMB, RunType.COMPOSITE]

    # specify when the plugin is called.  For log parsing, stay simple and just get called when the run completes.
    # but can also be called before the run starts, at the block level, or after all other default plugins run
    runlevels = [RunLevel.DEFAULT]

    # a simple cached version of the start plugin property
    @cached_property
    def startplugin_json(self):
        return self.startplugin

    @cached_property
    def barcodes_json(self):
        with open('barcodes.json', 'r') as barcodes_handle:
            return json.load(barcodes_handle)

    def launch(self, data=None):
        """This is the primary launch method for the plugin."""

        for barcode_name, barcode_values in self.barcodes_json.items():
            # do you work per barcode here!
            print("Barcode Name: " + barcode_name)
            print("Bam File: " + barcode_values['bam_file'])

        return True

# Devel use - running directly
if __name__ == "__main__":
    PluginCLI()

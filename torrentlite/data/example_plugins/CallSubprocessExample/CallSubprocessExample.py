#!/usr/bin/env python3
# Copyright (C) 2013 Ion Torrent Systems, Inc. All Rights Reserved

#
# Samples: CallSubprocessExample
# plugin demonstrating how to run an executable shipped with the plugin
#

import json
import os
from functools import cached_property
from ion.plugin import *
from subprocess import check_output


class CallSubprocessExample(IonPlugin):
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

    def launch(self, data=None):
        """This is the primary launch method for the plugin."""

        # "./" because a bare name is looked up on PATH, not in cwd; MyExecutable ships with this plugin
        path_to_executable = "./MyExecutable"
        arg1 = 'First Argument'
        arg2 = 'Second Argument'
        results = check_output([path_to_executable, arg1, arg2], cwd=self.startplugin_json['runinfo']['plugin']['path'])
        print(results.decode())

        return True

# Devel use - running directly
if __name__ == "__main__":
    PluginCLI()

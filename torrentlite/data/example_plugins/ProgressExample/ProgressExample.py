#!/usr/bin/env python3
# Copyright (C) 2013 Ion Torrent Systems, Inc. All Rights Reserved

#
# Samples: ProgressExample
# plugin demonstrating progress display by rewriting a *_block.html file
#

import time
from ion.plugin import *


class ProgressExample(IonPlugin):
    """Counts to ten, showing its progress in the report while it runs."""
    # The version number for this plugin
    version = "5.4.0.0"

    runtypes = [RunType.FULLCHIP, RunType.THUMB, RunType.COMPOSITE]
    runlevels = [RunLevel.DEFAULT]

    steps = 10
    seconds_per_step = 1

    def update_progress(self, current_progress, max_progress):
        with open(self.startplugin['runinfo']['results_dir'] + '/progress_block.html', 'w') as html_handle:
            html_handle.write('<html><head><meta http-equiv="refresh" content="5"></head><body>')
            html_handle.write("The current progress is %d of %d" % (current_progress, max_progress))
            html_handle.write('</body></html>')

    def launch(self, data=None):
        """This is the primary launch method for the plugin."""
        for step in range(self.steps + 1):
            self.update_progress(step, self.steps)
            if step < self.steps:
                time.sleep(self.seconds_per_step)
        return True

# Devel use - running directly
if __name__ == "__main__":
    PluginCLI()

#!/usr/bin/env python3
# Copyright (C) 2013 Ion Torrent Systems, Inc. All Rights Reserved

#
# Samples: LogParser
# plugin demonstrating simple log parsing ability
#

import json
import os
from functools import cached_property
from ion.plugin import *


class LogParser(IonPlugin):
    # The version number for this plugin
    version = "5.4.0.0"

    # this plugin can run on fullchip runs, thumbnail runs, and composite (merged via project page) runs
    # when this plugin is manually launched, only the 'launch' method is called
    runtypes = [RunType.FULLCHIP, RunType.THUMB, RunType.COMPOSITE]

    # specify when the plugin is called.  For log parsing, stay simple and just get called when the run completes.
    # the plugin can also be called before the run starts, at the block level, or after all other default plugins run
    runlevels = [RunLevel.DEFAULT]

    # a simple cached version of the start plugin property
    @cached_property
    def startplugin_json(self):
        return self.startplugin

    def read_explog(self):
        """This method reads and outputs an array of colon-delimited key/value pairs from the explog_final.txt"""

        path = os.path.join(self.startplugin_json['runinfo']['raw_data_dir'], "explog_final.txt")
        if not os.path.exists(path):
            raise Exception("explog_final.txt missing")

        # parse the log file for all of the values in a colon-delimited parameter
        data = dict()
        for line in open(path):
            # accommodates formatting issues in explog
            datum = line.split(":", 1)
            if len(datum) == 2:
                key, value = datum
                data[key.strip()] = value.strip()

        return data

    def launch(self, data=None):
        """This is the primary launch method for the plugin."""

        na = '<strong>NA</strong>'
        # creates a results object that is written out later.  This holds data that can be scrapped by a LIMS system,
        # and will be part of the TS database
        exp_log_data = self.read_explog()
        results_json = {
            'Project': exp_log_data.get('Project', None) or na,
            'Sample': exp_log_data.get('Sample', None) or na,
            'Library': exp_log_data.get('Library', None) or na,
        }

        # open up an html file to dump interesting log file findings to
        with open(self.startplugin_json['runinfo']['results_dir'] + '/LogParser_block.html', 'w') as html_handle:
            html_handle.write('<html><body>')
            html_handle.write("Project is: %s<br />" % results_json['Project'])
            html_handle.write("Sample is: %s<br />" % results_json['Sample'])
            html_handle.write("Library is: %s<br />" % results_json['Library'])
            html_handle.write('</body></html>')

        # write out our results json object
        with open(self.startplugin_json['runinfo']['results_dir'] + '/results.json', 'w') as results_handle:
            json.dump(results_json, results_handle, indent=4)

        return True

# Devel use - running directly
if __name__ == "__main__":
    PluginCLI()

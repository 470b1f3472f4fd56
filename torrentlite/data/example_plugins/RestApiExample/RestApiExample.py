#!/usr/bin/env python3
# Copyright (C) 2013 Ion Torrent Systems, Inc. All Rights Reserved

#
# Samples: RestApiExample
# plugin demonstrating a call to the REST API with the plugin's own api key
#

import requests
from ion.plugin import *


class RestApiExample(IonPlugin):
    """Reads this run's results record from the REST API and shows a few of its fields."""
    # The version number for this plugin
    version = "5.4.0.0"

    runtypes = [RunType.FULLCHIP, RunType.THUMB, RunType.COMPOSITE]
    runlevels = [RunLevel.DEFAULT]

    def launch(self, data=None):
        """This is the primary launch method for the plugin."""
        runinfo = self.startplugin['runinfo']

        # A plugin's key is only valid together with its plugin result's id.
        auth = {'format': 'json', 'pluginresult': runinfo['pluginresult'], 'api_key': runinfo['api_key']}
        api_response = requests.get(runinfo['api_url'] + '/v1/results/%s/' % runinfo['pk'], params=auth)
        api_response.raise_for_status()
        api_json_response = api_response.json()

        # The same request through the helper every plugin inherits (adds pluginresult and api_key).
        same_result = self.get_restobj('results/%s' % runinfo['pk'])

        with open(runinfo['results_dir'] + '/RestApiExample_block.html', 'w') as html_handle:
            html_handle.write('<html><body>')
            html_handle.write("Result name: %s<br />" % api_json_response.get('resultsName'))
            html_handle.write("Status: %s<br />" % (same_result or {}).get('status'))
            html_handle.write('</body></html>')

        return True

# Devel use - running directly
if __name__ == "__main__":
    PluginCLI()

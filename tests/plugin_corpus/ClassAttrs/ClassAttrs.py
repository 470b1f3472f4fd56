#!/usr/bin/env python3
# Plain class attributes: strings, lists of strings, booleans, a literal getUserInput.
from ion.plugin import *


class ClassAttrs(IonPlugin):
    """Writes a summary of the run.

    Second paragraph of the docs.
    """

    version = "5.4.0.1"
    runtypes = ["wholechip", "thumbnail"]
    runlevels = ["default"]
    features = []
    depends = ["coverageAnalysis", "variantCaller"]
    major_block = True
    requires_configuration = True
    author = "someone@example.com"

    def getUserInput(self):
        return [{"name": "threshold", "type": "int", "default": 5}, {"name": "mode", "value": None}]

    def launch(self, data=None):
        return True


if __name__ == "__main__":
    PluginCLI()

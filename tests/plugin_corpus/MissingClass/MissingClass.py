from ion.plugin import *


class SomethingElse(IonPlugin):
    version = "1.0"

    def launch(self, data=None):
        return True

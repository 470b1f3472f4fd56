from ion.plugin import *


class MissingVersion(IonPlugin):
    runtypes = [RunType.THUMB]

    def launch(self, data=None):
        return True

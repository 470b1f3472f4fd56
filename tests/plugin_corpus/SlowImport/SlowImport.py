import time
from ion.plugin import *

time.sleep(60)


class SlowImport(IonPlugin):
    version = "1.0.0"
    runtypes = list([RunType.THUMB])

    def launch(self, data=None):
        return True


if __name__ == "__main__":
    PluginCLI()

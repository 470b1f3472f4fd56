import module_that_does_not_exist
from ion.plugin import *


def _types():
    return [RunType.THUMB]


class BrokenImport(IonPlugin):
    version = "1.0.0"
    runtypes = _types

    def launch(self, data=None):
        return True


if __name__ == "__main__":
    PluginCLI()

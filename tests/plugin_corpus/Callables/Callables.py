# Values computed at import time: the static reader must hand these to a subprocess.
import os
from ion.plugin import *

PARTS = ["2", "0", str(len("abc"))]


def _levels():
    return [RunLevel.DEFAULT, RunLevel.LAST]


class Callables(IonPlugin):
    version = ".".join(PARTS)
    runtypes = staticmethod(lambda: [RunType.THUMB])
    runlevels = _levels
    depends = ["Base" + "Plugin"]

    def getUserInput(self):
        return [{"name": n} for n in ("a", "b")]

    def launch(self, data=None):
        return True


if __name__ == "__main__":
    PluginCLI()

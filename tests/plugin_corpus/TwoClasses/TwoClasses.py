from ion.plugin import *


class Helper(object):
    version = "9.9"


class CommonBase(IonPlugin):
    """Shared settings."""
    runtypes = [RunType.COMPOSITE]
    runlevels = [RunLevel.BLOCK, RunLevel.POST]

    def getUserInput(self):
        return {"shared": True}


class Unrelated(IonPlugin):
    version = "0.1"


class TwoClasses(CommonBase):
    """The real plugin."""
    version = "1.5.0"
    runlevels = [RunLevel.DEFAULT]

    def launch(self, data=None):
        return True


if __name__ == "__main__":
    PluginCLI(TwoClasses)

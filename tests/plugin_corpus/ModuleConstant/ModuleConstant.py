from ion.plugin import *

VERSION = "3.0.1"
LEVELS = [RunLevel.LAST]


class ModuleConstant(IonPlugin):
    """Version from a module-level constant."""
    version = VERSION
    runlevels = LEVELS
    features = (Feature.EXPORT,)

    def launch(self, data=None):
        return True


if __name__ == "__main__":
    PluginCLI()

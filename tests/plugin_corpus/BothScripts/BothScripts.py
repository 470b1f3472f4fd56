from ion.plugin import *


class BothScripts(IonPlugin):
    version = "2.0"

    def launch(self, data=None):
        return True


if __name__ == "__main__":
    PluginCLI()

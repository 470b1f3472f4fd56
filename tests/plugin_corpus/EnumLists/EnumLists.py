from ion.plugin import *
from ion.plugin import constants


class EnumLists(IonPlugin):
    version = '1.0'
    runtypes = [RunType.FULLCHIP, RunType.THUMB, RunType.COMPOSITE]
    runlevels = (RunLevel.PRE, RunLevel.BLOCK, constants.RunLevel.POST)
    features = [Feature.EXPORT]
    major_block = False

    def launch(self, data=None):
        return True


if __name__ == "__main__":
    PluginCLI()

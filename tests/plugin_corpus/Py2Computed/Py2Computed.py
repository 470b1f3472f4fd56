from ion.plugin import *

def levels():
    return [RunLevel.DEFAULT]

class Py2Computed(IonPlugin):
    version = "1.0.0"
    runlevels = levels
    runtypes = [RunType.THUMB]

    def launch(self, data=None):
        print "hello"

class NotIonPlugin(object):
    version = "1.0"

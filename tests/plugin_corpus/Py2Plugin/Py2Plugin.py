#!/usr/bin/python
# Copyright (C) an old plugin, Python 2 only.
import os, sys
from ion.plugin import *
from django.utils.functional import cached_property

TIMEOUT = 0777


class Py2Plugin(IonPlugin):
	u"""Counts reads per barcode;
	written for Python 2."""
	version = "4.2.1.3"
	runtypes = [ RunType.FULLCHIP,
	             RunType.THUMB,    # thumbnails too
	             RunType.COMPOSITE ]
	runlevels = [RunLevel.DEFAULT]; features = []
	depends = ['coverageAnalysis']
	major_block = True

	def getUserInput(self):
		return {'columns': [{'field': u'sample', "editable": False}], 'limit': 10L}

	@cached_property
	def startplugin_json(self):
		return self.startplugin

	def launch(self, data=None):
		try:
			print "Launching", self.version
		except Exception, e:
			print >>sys.stderr, "failed: %s" % e
			raise
		return True

if __name__ == "__main__":
	PluginCLI()

#!/bin/bash
# Copyright (C) a legacy shell plugin
#MAJOR_BLOCK
#AUTORUNDISABLE
VERSION="2.1.0-beta"

echo "running ${PLUGINNAME} ${VERSION}"

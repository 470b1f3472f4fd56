"""ion.plugin: what `from ion.plugin import *` gives a Torrent Suite plugin."""
from . import barcodetable_columns, base, bedParser, constants, launcher, restapi
from .base import IonPlugin
from .bedParser import IonBedHeader, IonBedReader, IonBedWriter
from .constants import Feature, RunLevel, RunType, lookupEnum, runLevelsList
from .launcher import PluginCLI, cli

__all__ = [
    "IonPlugin", "PluginCLI", "cli",
    "Feature", "RunType", "RunLevel", "lookupEnum", "runLevelsList",
    "IonBedHeader", "IonBedReader", "IonBedWriter",
    "constants", "base", "launcher", "restapi", "barcodetable_columns", "bedParser",
]

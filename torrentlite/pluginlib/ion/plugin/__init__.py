"""ion.plugin: what `from ion.plugin import *` gives a Torrent Suite plugin."""
from . import barcodetable_columns, base, constants, launcher, restapi
from .base import IonPlugin
from .constants import Feature, RunLevel, RunType, lookupEnum, runLevelsList
from .launcher import PluginCLI, cli

__all__ = [
    "IonPlugin", "PluginCLI", "cli",
    "Feature", "RunType", "RunLevel", "lookupEnum", "runLevelsList",
    "constants", "base", "launcher", "restapi", "barcodetable_columns",
]

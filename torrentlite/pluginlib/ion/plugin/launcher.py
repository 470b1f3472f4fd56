"""PluginCLI: the command line a plugin runs under (`python <Name>.py -vv`, `--inspect`, `--version`...)."""
import argparse
import inspect
import json
import logging
import os
import sys
import types

from .base import IonPlugin, registry

__all__ = ["PluginCLI", "cli", "find_plugin_class"]

log = logging.getLogger("ion.plugin.runtime")


def _is_plugin_class(obj):
    return isinstance(obj, type) and issubclass(obj, IonPlugin) and obj is not IonPlugin


def _from_module(module, name):
    candidate = getattr(module, name, None)
    if _is_plugin_class(candidate):
        return candidate
    defined = [obj for obj in vars(module).values() if _is_plugin_class(obj) and obj.__module__ == module.__name__]
    named = [cls for cls in defined if cls.name == name]
    if named:
        return named[0]
    if len(defined) == 1:
        return defined[0]
    return None


def find_plugin_class(plugin=None, script=None):
    """Resolve what PluginCLI was given (class, instance, module or nothing) to a plugin class or instance."""
    if isinstance(plugin, IonPlugin) or _is_plugin_class(plugin):
        return plugin
    if isinstance(plugin, types.ModuleType):
        found = _from_module(plugin, plugin.__name__.rsplit(".", 1)[-1])
        if found is None:
            raise SystemExit("No IonPlugin class found in module %s" % plugin.__name__)
        return found
    if plugin is not None:
        raise SystemExit("PluginCLI() needs an IonPlugin class, instance or module, not %r" % (plugin,))
    name = os.path.splitext(os.path.basename(script or sys.argv[0] or ""))[0]
    main = sys.modules.get("__main__")
    found = _from_module(main, name) if main is not None else None
    if found is None and _is_plugin_class(registry.get(name)):
        found = registry[name]
    if found is None:
        raise SystemExit("No IonPlugin class named %r is defined" % name)
    return found


def _parser(prog, version):
    parser = argparse.ArgumentParser(prog=prog, description="Run or inspect a Torrent Suite plugin.")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    parser.add_argument("--version", action="version", version="Ion Torrent Plugin - %(prog)s v" + str(version))
    parser.add_argument("--dry-run", dest="dry_run", action="store_true", help="log what would run, run nothing")
    parser.add_argument("--inspect", "--info", dest="inspect", action="store_true", help="print plugin info as JSON")
    parser.add_argument("--runmode", choices=("launch", "block"), default="launch", help="launch (default) or block")
    parser.add_argument("--block", default=None, help="block id for --runmode block")
    parser.add_argument("--bctable-columns", dest="bctable_columns", action="store_true",
                        help="print the barcode table columns as JSON")
    return parser


def PluginCLI(plugin=None, argv=None):
    """Parse the command line and run the plugin; returns launch()'s value, which never sets the exit code.

    Only an uncaught exception or an explicit sys.exit() makes the process end with a non-zero status,
    as on a Torrent Server, where the job's state follows the exit status alone.
    """
    target = find_plugin_class(plugin)
    instance = target() if inspect.isclass(target) else target
    prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else type(instance).__name__
    args = _parser(prog, instance.version).parse_args(argv)
    level = logging.ERROR if args.verbose == 0 else logging.INFO if args.verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(level)

    if args.inspect:
        print(json.dumps(instance.info(), indent=2, sort_keys=True, default=str))
        return None
    if args.bctable_columns:
        print(json.dumps(instance.barcodetable_columns(), indent=2, default=str))
        return None
    if args.runmode == "block":
        return instance.block(args.block)
    log.info("Launching %s %s", instance.name, instance.version)
    result = instance.launch_wrapper(dry_run=args.dry_run)
    log.info("%s finished: launch() returned %r", instance.name, result)
    return result


cli = PluginCLI

"""IonPlugin, the base class every Python plugin extends, and the metaclass that normalises its attributes."""
import inspect
import io
import json
import logging

from . import restapi

__all__ = ["IonPlugin", "IonPluginMeta", "registry"]

log = logging.getLogger("ion.plugin.runtime")

# Every class built by the metaclass, by class name and by its `name` attribute (the last definition wins).
registry = {}

LAZY_CLASS_ATTRS = ("major_block", "runtypes", "features", "runlevels", "depends", "requires", "provides")
LAZY_INSTANCE_ATTRS = ("output", "results")


class _LazyClassValue:
    """A class attribute computed on first access by calling a function with no arguments."""

    def __init__(self, func, attr):
        self.func = func
        self.attr = attr
        self.computed = False
        self.value = None

    def __get__(self, obj, owner=None):
        if not self.computed:
            self.value = self.func()
            self.computed = True
        return self.value


class cached_property(object):
    """A read-only instance attribute computed once (functools.cached_property is Python 3 only)."""

    def __init__(self, func):
        self.func = func
        self.__doc__ = getattr(func, "__doc__", None)
        self.name = func.__name__

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.func(obj)
        return value


def _unwrap(value):
    if isinstance(value, (staticmethod, classmethod)):
        return value.__func__
    return value


def _evaluate_now(value, cls):
    """Resolve `version`/`author` at class-definition time: call callables, evaluate properties."""
    if isinstance(value, property):
        value = value.fget(cls)
    elif isinstance(value, (staticmethod, classmethod)) or callable(value):
        value = _unwrap(value)()
    return "(Unknown)" if value is None else str(value)


class IonPluginMeta(type):
    """Normalises plugin class attributes the way the Torrent Suite framework does."""

    def __new__(mcs, clsname, bases, namespace):
        namespace.setdefault("name", clsname)
        if not namespace.get("__doc__"):
            namespace["__doc__"] = ""
        for attr in LAZY_CLASS_ATTRS:
            value = namespace.get(attr)
            if value is not None and not isinstance(value, _LazyClassValue) and (
                isinstance(value, (staticmethod, classmethod)) or callable(value)
            ):
                namespace[attr] = _LazyClassValue(_unwrap(value), attr)
        for attr in LAZY_INSTANCE_ATTRS:
            value = namespace.get(attr)
            if callable(value) and not isinstance(value, type):
                namespace[attr] = cached_property(value)
        cls = super(IonPluginMeta, mcs).__new__(mcs, clsname, bases, namespace)
        for attr in ("version", "author"):
            if attr in namespace:
                value = _evaluate_now(namespace[attr], cls)
                setattr(cls, attr, value)
                setattr(cls, "__%s__" % attr, value)
        if clsname == "_PluginBase":
            return cls
        registry[clsname] = cls
        if isinstance(namespace.get("name"), str):
            registry[namespace["name"]] = cls
        return cls


# Built by calling the metaclass, the one spelling that both Python 2.7 and Python 3 accept.
_PluginBase = IonPluginMeta("_PluginBase", (object,), {"__module__": __name__})


class IonPlugin(_PluginBase):
    """Base class of Torrent Suite plugins: override `version` and `launch()`."""

    version = "(Unknown)"
    author = "(Unknown)"
    runtypes = []
    features = []
    runlevels = []
    depends = []
    major_block = False
    requires_configuration = False
    requires = ["BAM"]
    output = {}
    results = {}

    def __init__(self):
        self.context = {}
        self.blockcount = 0
        self.exit_status = -1
        self.plugin = None
        self.analysis = None
        self.pluginresult = None
        self.data = {}

    @property
    def log(self):
        return log

    # -- what the job sees --------------------------------------------------------------------------------

    @cached_property
    def startplugin(self):
        """startplugin.json from the working directory (the plugin's results folder)."""
        with io.open("startplugin.json", encoding="utf-8") as handle:
            return json.load(handle)

    @cached_property
    def runinfo(self):
        return self.startplugin["runinfo"]

    @cached_property
    def plugin_parameters(self):
        return self.startplugin["runinfo"]["plugin"]

    @cached_property
    def configuration(self):
        return self.plugin_parameters.get("pluginconfig", {})

    def get_restobj(self, resource, params=None, timeout=30, attempts=5):
        """GET `<api_url>/v1/<resource>/` as this plugin result; return the parsed JSON (None on HTTP error)."""
        runinfo = self.runinfo
        query = {"pluginresult": runinfo.get("pluginresult"), "api_key": runinfo.get("api_key")}
        query = {k: v for k, v in query.items() if v is not None}
        query.update(params or {})
        url = restapi.resource_url(runinfo["api_url"], resource)
        return restapi.get_json(url, query, timeout=timeout, attempts=attempts)

    # -- life cycle ---------------------------------------------------------------------------------------

    def pre_launch(self):
        """Return False to skip launch() (the job still ends Completed)."""
        return True

    def launch(self, data=None):
        raise NotImplementedError("%s does not implement launch()" % type(self).__name__)

    def pre_block(self, block=None):
        return True

    def block(self, block=None):
        raise NotImplementedError("%s does not implement block()" % type(self).__name__)

    def post_block(self, block=None):
        return True

    def post_launch(self):
        return True

    def launch_wrapper(self, data=None, dry_run=False):
        """What the job runs: pre_launch(), then launch(), then generate_output() when launch returned truthy."""
        if dry_run:
            log.info("Dry run: %s %s would launch now", self.name, self.version)
            return True
        if not self.pre_launch():
            log.info("%s: pre_launch() declined; not launching", self.name)
            return None
        value = self.launch()
        if value:
            self.generate_output()
        return value

    def generate_output(self):
        """Write output.json and results.json into the working directory when they have content."""
        for filename, content in (("output.json", self.output), ("results.json", self.results)):
            if content:
                with open(filename, "w") as handle:
                    json.dump(content, handle, indent=2, sort_keys=True, default=str)

    # -- configuration ------------------------------------------------------------------------------------

    def getUserInput(self):
        return None

    def barcodetable_columns(self):
        return []

    def barcodetable_data(self, data, planconfig=None, globalconfig=None):
        return data

    def validate(self, config, run_mode):
        """Validation messages for running with `config` in `run_mode` ("manual"/"pipeline"); [] means OK."""
        errors = []
        if self.requires_configuration and not config:
            errors.append("%s requires configuration before execution." % self.name)
        errors.extend(self.custom_validation(config, run_mode) or [])
        return errors

    def custom_validation(self, config, run_mode):
        return []

    # -- introspection ------------------------------------------------------------------------------------

    def info(self):
        """The plugin info dict the server stores (what `--inspect` prints)."""
        def as_list(value):
            return list(value) if isinstance(value, (list, tuple, set)) else ([] if value is None else [value])

        cls = type(self)
        return {
            "name": cls.__name__,
            "version": self.version,
            "config": self.getUserInput(),
            "runtypes": as_list(self.runtypes),
            "features": as_list(self.features),
            "runlevels": as_list(self.runlevels),
            "depends": as_list(self.depends),
            "docs": inspect.cleandoc(cls.__doc__ or ""),
            "major_block": bool(self.major_block),
            "requires_configuration": bool(self.requires_configuration),
        }

    def __repr__(self):
        return "<%s %s %s>" % (type(self).__name__, self.name, self.version)


"""Read a plugin's info from its files without running plugin code in the server process."""
import ast
import inspect as _pyinspect
import io
import json
import os
import re
import signal
import subprocess
import sys
import tokenize
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

__all__ = [
    "PLUGINLIB", "PluginError", "PluginInfo", "read_plugin_info", "run_inspect",
    "compare_versions", "is_valid_version", "version_key",
]

PLUGINLIB = Path(__file__).resolve().parent.parent / "pluginlib"

# Same values as ion.plugin.constants; duplicated because that package is not importable in the server.
ENUMS = {
    "RunType": {"COMPOSITE": "composite", "THUMB": "thumbnail", "FULLCHIP": "wholechip"},
    "RunLevel": {"PRE": "pre", "DEFAULT": "default", "BLOCK": "block", "POST": "post",
                 "SEPARATOR": "separator", "LAST": "last"},
    "Feature": {"EXPORT": "export"},
}
LIST_ATTRS = ("runtypes", "runlevels", "features", "depends")
BOOL_ATTRS = ("major_block", "requires_configuration")
INFO_ATTRS = ("version",) + LIST_ATTRS + BOOL_ATTRS
LAUNCH_SH_DEFAULT_RUNTYPES = ["wholechip", "thumbnail"]
KNOWN_BASES = {"IonPlugin", "object"}


class PluginError(Exception):
    """The folder is not an installable plugin (no entry script, no plugin class, no version...)."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


@dataclass
class PluginInfo:
    """Everything the server needs to know about a plugin, read from its folder."""

    name: str
    version: str = ""
    runtypes: list = field(default_factory=list)
    runlevels: list = field(default_factory=list)
    features: list = field(default_factory=list)
    depends: list = field(default_factory=list)
    major_block: bool = False
    requires_configuration: bool = False
    docs: str = ""
    config: Any = None
    script: str = ""
    language: str = ""
    has_config_html: bool = False
    has_plan_html: bool = False
    has_instance_html: bool = False
    has_about_html: bool = False
    has_extend: bool = False
    has_plugin_media: bool = False
    has_pluginconfig: bool = False
    default_config: Optional[dict] = None
    dynamic: bool = False
    errors: list = field(default_factory=list)

    @property
    def python2(self):
        return self.language == "python2"

    def as_info(self):
        """The info dict in the shape the Torrent Suite scanner produces."""
        keys = ("name", "version", "config", "runtypes", "features", "runlevels", "depends", "docs",
                "major_block", "requires_configuration")
        return {key: getattr(self, key) for key in keys}

    def pluginsettings(self):
        return {"features": self.features, "runtypes": self.runtypes, "runlevels": self.runlevels,
                "depends": self.depends}

    def to_dict(self):
        return dict(asdict(self), python2=self.python2)


# ---------------------------------------------------------------------------------------------------------
# Versions

_VERSION_RE = re.compile(r"^\d+(?:\.\d+)*(?:(?:[-+_~.][A-Za-z0-9]+|[A-Za-z][A-Za-z0-9]*)(?:[-+_.][A-Za-z0-9]+)*)?$")


def is_valid_version(version):
    """True for dotted numbers with an optional alphanumeric suffix: 1, 5.4.0.0, 1.2.3-beta, 2.0rc1, 1.0-1.

    It must start with a digit and be at most 64 characters; "(Unknown)", "v1.2", "1..2", "1.2." are invalid.
    """
    return isinstance(version, str) and len(version) <= 64 and bool(_VERSION_RE.match(version))


def version_key(version):
    """Split a version into numbers and lower-cased words: "1.2.3-rc1" -> [1, 2, 3, "rc", 1]."""
    return [int(part) if part.isdigit() else part.lower() for part in re.findall(r"\d+|[A-Za-z]+", str(version))]


def compare_versions(a, b):
    """-1, 0 or 1 as version `a` is older than, equal to or newer than `b`.

    Numbers compare numerically and missing numbers count as 0 (5.4 == 5.4.0 < 5.4.0.1). A word marks a
    pre-release: it sorts below any number and below the end of the version (1.2.3-beta < 1.2.3 < 1.2.3.1);
    words compare alphabetically (alpha < beta < rc).
    """
    ka, kb = version_key(a), version_key(b)
    for i in range(max(len(ka), len(kb))):
        x = ka[i] if i < len(ka) else None
        y = kb[i] if i < len(kb) else None
        order = _compare_part(x, y)
        if order:
            return order
    return 0


def _compare_part(x, y):
    if x is None and y is None:
        return 0
    if x is None or y is None:
        other, sign = (y, -1) if x is None else (x, 1)
        if isinstance(other, int):
            return sign if other > 0 else 0
        return -sign
    if isinstance(x, int) != isinstance(y, int):
        return 1 if isinstance(x, int) else -1
    return (x > y) - (x < y)


# ---------------------------------------------------------------------------------------------------------
# Static reading of Python sources


class Computed:
    """A value that cannot be known without running the plugin."""

    def __init__(self, reason):
        self.reason = reason


class _NotStatic(Exception):
    pass


@dataclass
class _ClassModel:
    name: str
    bases: list
    attrs: dict = field(default_factory=dict)
    doc: Optional[str] = None
    user_input: Any = None


@dataclass
class _ModuleModel:
    classes: dict = field(default_factory=dict)
    constants: dict = field(default_factory=dict)


def _dotted(node):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return inner + "." + node.attr if inner else None
    return None


def _evaluate(node, constants, depth=0):
    """Evaluate a literal expression, allowing enum references and module-level literal constants."""
    if isinstance(node, Computed):
        raise _NotStatic(node.reason)
    if depth > 20:
        raise _NotStatic("is too deeply nested")
    if isinstance(node, ast.Constant) and not isinstance(node.value, bytes):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return [_evaluate(item, constants, depth + 1) for item in node.elts]
    if isinstance(node, ast.Dict):
        if any(key is None for key in node.keys):
            raise _NotStatic("uses dict unpacking")
        return {_evaluate(k, constants, depth + 1): _evaluate(v, constants, depth + 1)
                for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _evaluate(node.operand, constants, depth + 1)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value
    if isinstance(node, ast.Attribute):
        dotted = _dotted(node) or ""
        parts = dotted.split(".")
        if len(parts) >= 2 and parts[-2] in ENUMS:
            members = ENUMS[parts[-2]]
            if parts[-1] in members:
                return members[parts[-1]]
            raise _NotStatic("uses %s, which is not a member of %s" % (parts[-1], parts[-2]))
        raise _NotStatic("refers to %s" % (dotted or "an attribute"))
    if isinstance(node, ast.Name):
        if node.id in constants:
            return _evaluate(constants[node.id], constants, depth + 1)
        raise _NotStatic("refers to the name %s" % node.id)
    raise _NotStatic("is computed (%s)" % type(node).__name__)


def _single_return(body):
    statements = [s for s in body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
                                          and isinstance(s.value.value, str))]
    if len(statements) == 1 and isinstance(statements[0], ast.Return):
        return statements[0].value or ast.Constant(None)
    return Computed("is not a single return of a literal")


def _class_from_ast(node):
    model = _ClassModel(node.name, [_dotted(b) or "?" for b in node.bases], doc=ast.get_docstring(node))
    for stmt in node.body:
        if isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    model.attrs[target.id] = stmt.value
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
            model.attrs[stmt.target.id] = stmt.value
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if stmt.name == "getUserInput":
                model.user_input = _single_return(stmt.body)
            else:
                model.attrs[stmt.name] = Computed("is defined as a function")
        elif not isinstance(stmt, (ast.Expr, ast.Pass, ast.ClassDef)):
            for sub in ast.walk(stmt):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    model.attrs[sub.id] = Computed("is assigned conditionally")
    return model


def _module_from_ast(tree):
    module = _ModuleModel()

    def visit(statements):
        for stmt in statements:
            if isinstance(stmt, ast.ClassDef):
                module.classes[stmt.name] = _class_from_ast(stmt)
            elif isinstance(stmt, ast.Assign):
                for target in stmt.targets:
                    if isinstance(target, ast.Name):
                        module.constants[target.id] = stmt.value
            elif isinstance(stmt, (ast.If, ast.Try)):
                visit(stmt.body)
                visit(getattr(stmt, "orelse", []))
            elif isinstance(stmt, (ast.AugAssign, ast.AnnAssign)) and isinstance(stmt.target, ast.Name):
                module.constants[stmt.target.id] = Computed("is modified after assignment")

    visit(tree.body)
    return module


# -- Python 2: a tolerant line reader (ast cannot parse print statements, `except E, e`, 0777...) ----------

def _logical_lines(source):
    """Split source into (lineno, indent, text) statements, joining bracketed/continued lines, dropping comments."""
    out, buf = [], []
    i, n, lineno, depth = 0, len(source), 1, 0
    start, indent, at_start = 1, 0, True

    def emit():
        text = "".join(buf).strip()
        if text:
            out.append((start, indent, text))
        buf.clear()

    while i < n:
        c = source[i]
        if at_start:
            col, j = 0, i
            while j < n and source[j] in " \t\f":
                col = (col // 8 + 1) * 8 if source[j] == "\t" else col + 1
                j += 1
            if j >= n or source[j] in "\r\n#":
                k = source.find("\n", j)
                i, lineno = (n if k < 0 else k + 1), lineno + 1
                continue
            start, indent, at_start, i = lineno, col, False, j
            continue
        if c == "#":
            k = source.find("\n", i)
            i = n if k < 0 else k
        elif c in "'\"":
            quote = source[i:i + 3] if source[i:i + 3] in ("'''", '"""') else c
            j = i + len(quote)
            while j < n and source[j:j + len(quote)] != quote:
                if len(quote) == 1 and source[j] == "\n":
                    break
                j += 2 if source[j] == "\\" else 1
            j = min(n, j + len(quote))
            buf.append(source[i:j])
            lineno += source.count("\n", i, j)
            i = j
        elif c == "\\" and source[i + 1:i + 2] == "\n":
            buf.append(" ")
            i, lineno = i + 2, lineno + 1
        elif c == "\n":
            lineno += 1
            i += 1
            if depth == 0:
                emit()
                at_start = True
            else:
                buf.append(" ")
        elif c == ";" and depth == 0:
            emit()
            i += 1
        else:
            if c in "([{":
                depth += 1
            elif c in ")]}":
                depth = max(0, depth - 1)
            buf.append(c)
            i += 1
    emit()
    return out


def _py2_expr(text):
    for attempt in (text, _py2_fixups(text)):
        try:
            return ast.parse(attempt.strip(), mode="eval").body
        except SyntaxError:
            continue
    return Computed("cannot be parsed (%r)" % text[:60])


def _py2_fixups(text):
    text = re.sub(r"\b[uU]([rR]?['\"])", r"\1", text)
    text = re.sub(r"\b(\d+)[lL]\b", r"\1", text)
    return re.sub(r"(?<![\w.])0(\d+)\b", r"0o\1", text)


_CLASS_RE = re.compile(r"^class\s+(\w+)\s*(?:\((.*)\))?\s*:", re.S)
_ASSIGN_RE = re.compile(r"^(\w+)\s*=(?!=)\s*(.*)$", re.S)
_DEF_RE = re.compile(r"^def\s+(\w+)\s*\(")


def _module_from_lines(source):
    module = _ModuleModel()
    lines = _logical_lines(source)
    for index, (_, indent, text) in enumerate(lines):
        if indent == 0:
            assign = _ASSIGN_RE.match(text)
            if assign:
                module.constants[assign.group(1)] = _py2_expr(assign.group(2))
        header = _CLASS_RE.match(text)
        if header:
            bases = [b.strip() for b in (header.group(2) or "").split(",") if b.strip()]
            module.classes[header.group(1)] = _class_from_lines(header.group(1), bases, lines, index, indent)
    return module


def _class_from_lines(name, bases, lines, index, class_indent):
    model = _ClassModel(name, bases)
    body = []
    for entry in lines[index + 1:]:
        if entry[1] <= class_indent:
            break
        body.append(entry)
    if not body:
        return model
    body_indent = body[0][1]
    for pos, (_, indent, text) in enumerate(body):
        if indent != body_indent:
            continue
        if pos == 0 and text[:1] in "'\"uUrRbB" and not _ASSIGN_RE.match(text):
            doc = _py2_expr(text)
            if isinstance(doc, ast.Constant) and isinstance(doc.value, str):
                model.doc = _pyinspect.cleandoc(doc.value)
            continue
        assign = _ASSIGN_RE.match(text)
        func = _DEF_RE.match(text)
        if assign:
            model.attrs[assign.group(1)] = _py2_expr(assign.group(2))
        elif func and func.group(1) == "getUserInput":
            inner = []
            for entry in body[pos + 1:]:
                if entry[1] <= body_indent:
                    break
                inner.append(entry)
            statements = [t for _, ind, t in inner if ind == inner[0][1]] if inner else []
            statements = [t for t in statements if not t[:1] in "'\""]
            if len(statements) == 1 and re.match(r"^return\b", statements[0]):
                model.user_input = _py2_expr(statements[0][6:] or "None")
            else:
                model.user_input = Computed("is not a single return of a literal")
        elif func:
            model.attrs[func.group(1)] = Computed("is defined as a function")
    return model


# ---------------------------------------------------------------------------------------------------------
# Putting it together


def _find_class(module, name):
    if name in module.classes:
        return module.classes[name]
    for model in module.classes.values():
        node = model.attrs.get("name")
        if isinstance(node, ast.Constant) and node.value == name:
            return model
    return None


def _merged(module, model, seen=()):
    """(attrs, user_input, extends_ion_plugin, unknown_bases) with same-module base classes folded in."""
    attrs, user_input, extends, unknown = {}, None, False, []
    for base in reversed(model.bases):
        short = base.rsplit(".", 1)[-1]
        if short in KNOWN_BASES:
            extends = extends or short == "IonPlugin"
        elif short in module.classes and short not in seen and short != model.name:
            b_attrs, b_input, b_extends, b_unknown = _merged(module, module.classes[short], seen + (model.name,))
            attrs.update(b_attrs)
            user_input = b_input if b_input is not None else user_input
            extends, unknown = extends or b_extends, unknown + b_unknown
        else:
            unknown.append(base)
    attrs.update(model.attrs)
    if model.user_input is not None:
        user_input = model.user_input
    return attrs, user_input, extends, unknown


def _read_python(plugin_dir, name, info, timeout):
    path = plugin_dir / (name + ".py")
    raw = path.read_bytes()
    try:
        encoding = tokenize.detect_encoding(io.BytesIO(raw).readline)[0]
        source = raw.decode(encoding)
    except (SyntaxError, UnicodeDecodeError, LookupError):
        source = raw.decode("latin-1")
    try:
        module = _module_from_ast(ast.parse(source, filename=path.name))
        info.language = "python3"
    except (SyntaxError, ValueError) as exc:
        module = _module_from_lines(source)
        info.language = "python2"
        info.errors.append("%s is not Python 3 (line %s: %s); it runs in the Python 2.7 plugin environment"
                           % (path.name, getattr(exc, "lineno", "?"), getattr(exc, "msg", exc)))

    model = _find_class(module, name)
    if model is None:
        raise PluginError("%s.py does not define a class named %s" % (name, name))
    attrs, user_input, extends, unknown = _merged(module, model)
    if not extends and not unknown:
        raise PluginError("class %s in %s.py does not extend IonPlugin" % (name, name))
    info.docs = model.doc or ""

    values, computed = {}, {}
    for attr in INFO_ATTRS:
        if attr in attrs:
            try:
                values[attr] = _evaluate(attrs[attr], module.constants)
            except _NotStatic as exc:
                computed[attr] = str(exc)
        elif unknown:
            computed[attr] = "may come from base class %s" % unknown[0]
    if user_input is not None:
        try:
            values["config"] = _evaluate(user_input, module.constants)
        except _NotStatic as exc:
            computed["config"] = str(exc)

    if computed and info.language == "python3":
        try:
            dynamic = run_inspect(plugin_dir, name, timeout)
            info.dynamic = True
            for key in computed:
                if key in dynamic:
                    values[key] = dynamic[key]
            computed = {k: v for k, v in computed.items() if k not in dynamic}
        except PluginError as exc:
            info.errors.append(exc.message)
    for key, reason in computed.items():
        if key in attrs or key == "config":
            info.errors.append("could not read %s: it %s" % ("getUserInput()" if key == "config" else key, reason))
    if "version" in computed and "version" in attrs:
        raise PluginError("cannot read the version of %s: it %s" % (name, computed["version"]))
    _apply_values(info, values)


def _apply_values(info, values):
    version = values.get("version")
    if version is None or version == "(Unknown)":
        raise PluginError("%s has no version" % info.name)
    info.version = str(version)
    for attr in LIST_ATTRS:
        value = values.get(attr, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            info.errors.append("%s should be a list, not %r" % (attr, value))
            value = []
        setattr(info, attr, [str(item) for item in value])
    for attr in BOOL_ATTRS:
        setattr(info, attr, bool(values.get(attr, False)))
    info.config = values.get("config")


def _read_launch_sh(plugin_dir, info):
    text = (plugin_dir / "launch.sh").read_text(encoding="utf-8", errors="replace")
    match = re.search(r"VERSION\s*=\s*\"?'?([\w.\-]+)", text)
    info.version = match.group(1) if match else "0"
    info.major_block = any(re.match(r"#\s*MAJOR_?BLOCK", line) for line in text.splitlines())
    info.language = "bash"
    info.runtypes = list(LAUNCH_SH_DEFAULT_RUNTYPES)
    settings_path = plugin_dir / "pluginsettings.json"
    if not settings_path.is_file():
        return
    try:
        settings = json.loads(settings_path.read_text(encoding="utf-8"))
        if not isinstance(settings, dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:
        info.errors.append("pluginsettings.json is not valid: %s" % exc)
        return
    for attr in LIST_ATTRS:
        value = settings.get(attr, settings.get(attr[:-1]))
        if value is None:
            continue
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            setattr(info, attr, [str(item) for item in value])
        else:
            info.errors.append("pluginsettings.json: %s should be a list" % attr)


def run_inspect(plugin_dir, name, timeout=10):
    """Run `python <Name>.py --inspect` in the plugin folder, in its own process group; return the info dict."""
    env = dict(os.environ, PYTHONPATH=str(PLUGINLIB), PYTHONDONTWRITEBYTECODE="1", PYTHONIOENCODING="utf-8")
    try:
        proc = subprocess.Popen([sys.executable, "-s", name + ".py", "--inspect"], cwd=str(plugin_dir), env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
    except OSError as exc:
        raise PluginError("cannot run %s.py --inspect: %s" % (name, exc))
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.communicate()
        raise PluginError("%s.py --inspect timed out after %gs" % (name, timeout))
    if proc.returncode != 0:
        tail = stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        raise PluginError("%s.py --inspect failed (exit %s): %s" % (name, proc.returncode, tail[0]))
    text = stdout.decode("utf-8", "replace")
    # Module-level prints may precede the JSON document, which is the last thing the CLI prints.
    for start in [0] + [m.start() for m in re.finditer(r"^\{", text, re.M)]:
        try:
            data = json.loads(text[start:])
        except ValueError:
            continue
        if isinstance(data, dict):
            return data
    raise PluginError("%s.py --inspect did not print plugin info" % name)


def read_plugin_info(plugin_dir: Path, name: str, timeout: float = 10) -> PluginInfo:
    """Read plugin `name` from `plugin_dir`; raise PluginError when the folder is not a plugin."""
    plugin_dir = Path(plugin_dir)
    info = PluginInfo(name=name)
    if (plugin_dir / (name + ".py")).is_file():
        info.script = name + ".py"
        _read_python(plugin_dir, name, info, timeout)
    elif (plugin_dir / "launch.sh").is_file():
        info.script = "launch.sh"
        _read_launch_sh(plugin_dir, info)
    else:
        raise PluginError("%s has neither %s.py nor launch.sh" % (name, name))
    for attr, filename in (("has_config_html", "config.html"), ("has_plan_html", "plan.html"),
                           ("has_instance_html", "instance.html"), ("has_about_html", "about.html"),
                           ("has_extend", "extend.py")):
        setattr(info, attr, (plugin_dir / filename).is_file())
    info.has_plugin_media = (plugin_dir / "pluginMedia").is_dir()
    config_path = plugin_dir / "pluginconfig.json"
    info.has_pluginconfig = config_path.is_file()
    if info.has_pluginconfig:
        try:
            info.default_config = json.loads(config_path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            info.errors.append("pluginconfig.json is not valid JSON: %s" % exc)
    return info

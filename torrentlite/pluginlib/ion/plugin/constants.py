"""Plugin enumerations: run types, run levels and features, as plain string constants."""

__all__ = ["Feature", "RunType", "RunLevel", "lookupEnum", "runLevelsList"]


class Feature:
    """Optional plugin features."""

    EXPORT = "export"


class RunType:
    """Kinds of report a plugin can run on."""

    COMPOSITE = "composite"
    THUMB = "thumbnail"
    FULLCHIP = "wholechip"


class RunLevel:
    """Points in the analysis pipeline at which a plugin is launched."""

    PRE = "pre"
    DEFAULT = "default"
    BLOCK = "block"
    POST = "post"
    SEPARATOR = "separator"
    LAST = "last"


def members(enum):
    """Return {member name: value} for one of the enumeration classes above."""
    return {k: v for k, v in vars(enum).items() if k.isupper() and isinstance(v, str)}


def lookupEnum(enum, item):
    """Return the member name of `enum` whose value is `item` (or whose name is `item`), else None."""
    for key, value in members(enum).items():
        if item == value or item == key:
            return key
    return None


def runLevelsList():
    """Run levels in the order the pipeline reaches them."""
    return [RunLevel.PRE, RunLevel.BLOCK, RunLevel.SEPARATOR, RunLevel.DEFAULT, RunLevel.POST, RunLevel.LAST]

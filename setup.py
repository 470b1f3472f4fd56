"""Packaging for torrentlite."""
import re
from pathlib import Path

from setuptools import find_packages, setup

VERSION = re.search(r'__version__ = "([^"]+)"', Path("torrentlite/__init__.py").read_text()).group(1)

setup(
    name="torrentlite",
    version=VERSION,
    description="The Torrent Suite rundb API and plugin framework for one box",
    long_description=Path("README.md").read_text(encoding="utf-8") if Path("README.md").exists() else "",
    long_description_content_type="text/markdown",
    packages=find_packages(include=["torrentlite", "torrentlite.*"]),
    include_package_data=True,
    package_data={"torrentlite": ["data/*.json", "data/**/*", "pluginlib/**/*", "runner/*.bash",
                                  "web/templates/*.tpl", "web/static/**/*"]},
    python_requires=">=3.10",
    install_requires=[
        "bottle>=0.13",
        "peewee>=3.17",
        "apsw>=3.45",
        "psutil>=5.9",
        "waitress>=3.0",
        "python-dateutil>=2.8",
        "orjson>=3.9",
        "regex>=2023.0",
        # Not used by the server: Torrent Suite gives every plugin these two, and plugins import them.
        "requests>=2.31",
        "simplejson>=3.19",
        # Fernet (AES-128-CBC + HMAC-SHA256, versioned tokens) for /security/api/v1/securestring/: the
        # standard library has no cipher, and hand-rolled cryptography is not an option.
        "cryptography>=41",
        # Plugins run under this interpreter and nearly all of them read BAM files; pysam (htslib) is
        # how Python reads them correctly. The demo's coverage plugin and its BAM files depend on it.
        "pysam>=0.22",
    ],
    extras_require={
        "drmaa": ["drmaa>=0.7.9"],
        "test": ["pytest>=8", "openapi-spec-validator>=0.7", "hypothesis>=6", "playwright>=1.40"],
    },
    entry_points={"console_scripts": ["torrentlite = torrentlite.cli:main"]},
)

"""Allow `python -m torrentlite`."""
from torrentlite.cli import main

raise SystemExit(main())

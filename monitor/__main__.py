"""``python -m monitor`` works like the ``monitor`` command."""

import sys

from monitor.cli import main

# Guarded: parser worker processes start by importing the main module.
if __name__ == "__main__":
    sys.exit(main())

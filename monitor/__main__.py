"""``python -m monitor`` works like the ``monitor`` command."""

import sys

from monitor.cli import main

sys.exit(main())

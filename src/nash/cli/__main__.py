"""``python -m nash.cli``."""

import sys

from nash.cli import main

sys.exit(main())

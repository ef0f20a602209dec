"""``python -m nash`` is the ``nash`` command (also usable under ``torchrun -m nash``)."""

import sys

from nash.cli import main

sys.exit(main())

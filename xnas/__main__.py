"""``python -m xnas`` == the ``xnas`` console script."""

import sys

from xnas.cli import main

sys.exit(main())

"""``python -m services.cli``: the ``mjd`` command."""

import sys

from services.cli import main

sys.exit(main())

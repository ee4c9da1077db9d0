"""`python -m prodtel.analytics ingest|report ...`"""

import sys

from prodtel.analytics.cli import main

sys.exit(main())

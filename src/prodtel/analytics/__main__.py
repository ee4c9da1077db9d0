"""`python -m prodtel.analytics ingest|report ...`"""

import sys

from prodtel.cli.analytics import main

sys.exit(main())

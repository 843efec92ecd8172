import sys

from coconut_lm.cli import main

sys.exit(main())

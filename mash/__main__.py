import sys

from mash.cli import main

sys.exit(main())

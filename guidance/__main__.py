"""python -m guidance ... (see guidance/cli.py)."""

import os
import sys

# spaCy's thinc imports TensorFlow when it is installed (Rasa brings it); keep its start-up
# chatter off the command line's stderr.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from guidance.cli import main  # noqa: E402 - after the environment default above

sys.exit(main())

"""Entry point for `python -m twin_core`."""
import sys

from twin_core.cli import main

sys.exit(main())

"""`python -m umer1.cli ...` runs the command line (as `accelerate launch -m umer1.cli` does)."""
import sys

from umer1.cli import main

sys.exit(main())

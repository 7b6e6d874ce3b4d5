"""``python -m persona_lab.cli`` is the ``persona-lab`` command."""

import sys

from persona_lab.cli import main

if __name__ == "__main__":  # not in a spawned worker process
    sys.exit(main())

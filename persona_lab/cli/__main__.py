"""``python -m persona_lab.cli`` is the ``persona-lab`` command."""

import sys

from persona_lab.cli import main

sys.exit(main())

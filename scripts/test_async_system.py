"""Test the system as the original script did: its six checks, now ``kbm doctor``'s.

Kept for automation written for the original system: ``python
scripts/test_async_system.py`` runs ``kbm doctor`` (the six checks under their old
names, and the rest of the stack's), prints each with its fix and exits 1 when one
fails. Options are ``kbm doctor``'s (``--json``).
"""

from __future__ import annotations

import sys

from services.cli.main import main

if __name__ == "__main__":
    sys.argv = ["kbm", "doctor", *sys.argv[1:]]
    main()

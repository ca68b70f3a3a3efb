"""``python -m billing_kit.sandbox serve ...`` (used by ``ensure_shared`` for the detached
server).
"""

from __future__ import annotations

import sys

from billing_kit.sandbox._cli import main

if __name__ == "__main__":
    sys.exit(main())

"""The test settings: the production module with TESTING on (immediate tasks, a dev key)."""

import os

os.environ["TESTING"] = "1"

from backend.settings import *  # noqa: F403

"""The test settings: the production module with TESTING on (immediate tasks, a dev key)."""

import os

os.environ["TESTING"] = "1"

from backend.settings import *  # noqa: F403

if DATABASES["default"]["ENGINE"] == "backend.core.postgresql":  # noqa: F405
    # One test database per run, so runs sharing a server (CI legs, developers) do not collide.
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}  # noqa: F405
if REDIS_URL:  # noqa: F405
    CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = f"test{os.getpid()}"  # noqa: F405

# Hashing is not what the tests check; the fast hasher saves about a second per user created.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

"""The administrative tree's public pages, kept in the cache until the tree changes (core.public_pages)."""

from backend.core.public_pages import PublicPages

from .models import Community, Grid, Place, Street

# Imported by the app's ready(), so every process that can write the tree (the API, the console,
# the workers, management commands) changes the version when it does.
public_map = PublicPages("map", [Street, Community, Grid, Place])

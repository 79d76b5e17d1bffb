"""Object-level authorization between peers: two community secretaries, in different streets.

Each peer's own objects exist first (tests/security/world.py builds the same set in both
communities). Every detail route of the URL conf is then asked, by each peer, for the other's
object with GET, PATCH, PUT and DELETE. An object the peer has no business with must answer
exactly what an id that exists nowhere answers: 404, or the same role-level refusal (403, 405)
that does not depend on the object. One shared by design, which the peer can list or anyone may
read (a brand's public page, the map), may be read but never changed.
"""

from __future__ import annotations

import pytest

from . import harness
from .urlconf import api_endpoints

pytestmark = [pytest.mark.security, pytest.mark.django_db]

PROBED = ("GET", "PATCH", "PUT", "DELETE")
NOWHERE = 2_000_000_000  # an id no fixture reaches


def _ids(body) -> set[object]:
    rows = body.get("results") if isinstance(body, dict) else body
    return {row.get("id") for row in rows or [] if isinstance(row, dict)}


def test_peers_get_404_for_each_others_objects(world, no_throttles, figures):
    endpoints = api_endpoints()
    by_route = {e.route: e for e in endpoints}
    anonymous = harness.client(None)
    owners = [
        (harness.client(world.a.users["staff"]), harness.client(world.a.users["street_admin"])),
        (harness.client(world.b.users["staff"]), harness.client(world.b.users["street_admin"])),
    ]
    pairs = [
        (world.a, owners[0][0], harness.client(world.b.users["staff"]), "B"),
        (world.b, owners[1][0], harness.client(world.a.users["staff"]), "A"),
    ]
    probes = 0
    leaks: list[str] = []
    for endpoint in endpoints:
        if "pk" not in endpoint.kwargs:
            continue
        collection = by_route.get(endpoint.route.split("{pk}/")[0])
        for owner_side, _owner, peer, peer_name in pairs:
            values = harness.path_values(endpoint, owner_side)
            path = endpoint.path(values)
            nowhere = endpoint.path({**values, "pk": NOWHERE})
            if owner_side is world.a and "GET" in endpoint.methods and not _owner_reads(owners[0], path):
                leaks.append(f"{path}: neither its staff nor its street admin can read it, so the probe proves nothing")
            shared = None
            for method in PROBED:
                if method not in endpoint.methods:
                    continue
                outcome = harness.send(peer, method, path)
                probes += 1
                if outcome.status == 404:
                    continue
                if shared is None:
                    shared = _shared(anonymous, peer, path, collection, values)
                if shared:
                    if method == "GET" or not 200 <= outcome.status < 300:
                        continue
                    leaks.append(f"staff of {peer_name}: {method} {path} -> {outcome.status}: readable, not theirs")
                    continue
                missing = harness.send(peer, method, nowhere)
                if outcome.status != missing.status or 200 <= outcome.status < 300:
                    leaks.append(
                        f"staff of {peer_name}: {method} {path} -> {outcome.status}, "
                        f"but {missing.status} for an id that exists nowhere"
                    )
    figures["object-level authorization"] = f"{probes} peer probes, {len(leaks)} leaks"
    assert not leaks, "\n".join(leaks)


def _owner_reads(owners, path: str) -> bool:
    return any(200 <= harness.send(client, "GET", path).status < 300 for client in owners)


def _shared(anonymous, peer, path: str, collection, values: dict) -> bool:
    """Whether the object is meant to be seen by the peer: public, or in the peer's own list."""
    if 200 <= harness.send(anonymous, "GET", path).status < 300:
        return True
    if collection is None or "GET" not in collection.methods:
        return False
    listing = harness.send(peer, "GET", collection.path(values) + "?page_size=100")
    return 200 <= listing.status < 300 and values["pk"] in _ids(listing.body)

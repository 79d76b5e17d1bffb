"""Object-level authorization between peers: two community secretaries, in different streets.

Each peer's own objects exist first (tests/security/world.py builds the same set in both
communities). Every detail route of the URL conf is then asked, by each peer, for the other's
object with GET, PATCH, PUT, DELETE and POST (the actions: approve, claim, check-in…). An object
the peer has no business with must answer exactly what an id that exists nowhere answers: 404, or
the same role-level refusal (403, 405) that does not depend on the object. One shared by design
(anyone may read it, or SHARED_BY_DESIGN gives the route's reason) may be read but never changed,
except by the caller's own acts listed in OWN_ACTS. An object the peer finds in its own list with
no reason given fails the check, naming the route.
"""

from __future__ import annotations

import pytest

from . import harness
from .urlconf import api_endpoints

pytestmark = [pytest.mark.security, pytest.mark.django_db]

PROBED = ("GET", "PATCH", "PUT", "DELETE", "POST")

# Detail routes whose objects the other street's secretary may read by design, each with its reason.
# Only these (and what anyone may read, anonymous included) are let off the 404; every other object
# of the other side must answer exactly what an id that exists nowhere answers. Writes never pass.
SHARED_BY_DESIGN: dict[str, str] = {
    "activities/{pk}/": "published activities open to the community, the public or volunteers show to anyone "
    "signed in (activities.selectors.visible_activities); party-member and branch ones only to those they are for",
    "estates/{pk}/": "every signed-in user picks an estate, anywhere, to file an appeal or say where they live",
    "honors/{pk}/": "honours are public record to every signed-in user",
    "members/posts/{pk}/": "active service posts are public to signed-in users (members.selectors.posts_for)",
    "organizations/{pk}/": "the party organisations are the map a member registers against, read by everyone signed in",
    "property-companies/{pk}/": "the register of companies is read by all staff, so an estate anywhere can name its "
    "company; changing one stays with its street",
    "resources/{pk}/": "active resources whose content check passed are public to signed-in users",
    "service-projects/{pk}/": "projects whose content check passed are public to signed-in users",
}
# Actions on a shared object that are the caller's own act, not a change to someone else's row:
# they may succeed for the peer as for anyone signed in.
OWN_ACTS: dict[str, str] = {
    "members/posts/{pk}/leave/": "leaving a post one does not hold is a no-op answered 204 (idempotent)",
}
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
    listed: set[str] = set()  # routes whose objects the peer lists, without a reason in SHARED_BY_DESIGN
    for endpoint in endpoints:
        if "pk" not in endpoint.kwargs:
            continue
        collection = by_route.get(endpoint.route.split("{pk}/")[0])
        # An action's object is the detail route's: whether it is shared is asked of that route.
        detail_route = endpoint.route.split("{pk}/")[0] + "{pk}/"
        detail_key = detail_route.removeprefix("api/v1/")
        for owner_side, _owner, peer, peer_name in pairs:
            values = harness.path_values(endpoint, owner_side)
            path = endpoint.path(values)
            nowhere = endpoint.path({**values, "pk": NOWHERE})
            detail = "/" + detail_route.replace("{pk}", str(values["pk"]))
            for name, value in values.items():
                detail = detail.replace("{" + name + "}", str(value))
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
                    shared = _shared(anonymous, peer, detail, collection, values, detail_key)
                    if shared is None:
                        listed.add(detail_key)
                        shared = False
                if shared:
                    if method == "GET" or not 200 <= outcome.status < 300 or endpoint.key in OWN_ACTS:
                        continue
                    leaks.append(f"staff of {peer_name}: {method} {path} -> {outcome.status}: readable, not theirs")
                    continue
                missing = harness.send(peer, method, nowhere)
                if outcome.status != missing.status or 200 <= outcome.status < 300:
                    leaks.append(
                        f"staff of {peer_name}: {method} {path} -> {outcome.status}, "
                        f"but {missing.status} for an id that exists nowhere"
                    )
    figures["object-level authorization"] = f"{probes} peer probes (POST actions too), {len(leaks)} leaks"
    stale = sorted((set(SHARED_BY_DESIGN) | set(OWN_ACTS)) - {e.key for e in endpoints})
    assert not stale, f"SHARED_BY_DESIGN names routes the URL conf no longer has: {stale}"
    unexplained = "".join(
        f"\n    {key}: the peer lists its objects; add it to SHARED_BY_DESIGN with why" for key in sorted(listed)
    )
    assert not leaks, "\n".join(leaks) + unexplained


def _owner_reads(owners, path: str) -> bool:
    return any(200 <= harness.send(client, "GET", path).status < 300 for client in owners)


def _shared(anonymous, peer, path: str, collection, values: dict, key: str) -> bool | None:
    """Whether the object is meant to be seen by the peer: public, or shared by design with a reason.

    None: the peer finds it in its own list, but no reason says why it should (a leak until one does).
    """
    if 200 <= harness.send(anonymous, "GET", path).status < 300:
        return True
    if key in SHARED_BY_DESIGN:
        return True
    if collection is None or "GET" not in collection.methods:
        return False
    listing = harness.send(peer, "GET", collection.path(values) + "?page_size=100")
    return None if 200 <= listing.status < 300 and values["pk"] in _ids(listing.body) else False

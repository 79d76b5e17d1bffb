"""Re-encrypt stored ID numbers under the current first key (and, with --rehash, re-key their hashes)."""

from django.core.management.base import BaseCommand
from django.db import transaction

from backend.core import crypto
from backend.members.models import PartyMember

BATCH = 500


class Command(BaseCommand):
    help = (
        "After putting a new key first in FIELD_ENCRYPTION_KEYS: re-encrypt every stored ID number under it, "
        "so the old key can be dropped. --rehash recomputes the lookup hashes after ID_HASH_KEY changed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--rehash", action="store_true", help="also recompute hashes with the current ID_HASH_KEY")

    def handle(self, *args, rehash: bool, **options):
        rotated = rehashed = 0
        last_id = 0
        while True:
            ids = list(
                PartyMember.objects.filter(pk__gt=last_id)
                .exclude(id_number_encrypted="")
                .order_by("pk")
                .values_list("pk", flat=True)[:BATCH]
            )
            if not ids:
                break
            last_id = ids[-1]
            with transaction.atomic():
                for member in PartyMember.objects.select_for_update().filter(pk__in=ids).order_by("pk"):
                    changed = []
                    if crypto.needs_rotation(member.id_number_encrypted):
                        member.id_number_encrypted = crypto.rotate(member.id_number_encrypted)
                        changed.append("id_number_encrypted")
                        rotated += 1
                    if rehash:
                        digest = crypto.keyed_hash(crypto.decrypt(member.id_number_encrypted))
                        if digest != member.id_number_hash:
                            member.id_number_hash = digest
                            changed.append("id_number_hash")
                            rehashed += 1
                    if changed:
                        member.save(update_fields=changed)
        self.stdout.write(f"re-encrypted {rotated} ID numbers" + (f", re-hashed {rehashed}" if rehash else ""))

"""Fill `liaison_grant` for unit registrations approved before it was recorded.

An approval granted the filer the unit's liaison role in the same transaction, recording the
approver as its granter, just after `approved_at`. A grant for the filer and the unit, granted by
the registration's approver within a minute after its approval, is the one it made. A standing
grant that such a match found for one approved registration is shared by the filer's other
approved registrations of the same unit that matched none: their approval found it held and
granted nothing new, as approval now records. Anything else stays None: a grant given by hand
is not a tie's to end, and a tie that cannot show it made its grant leaves it alone.
"""

from datetime import timedelta

from django.db import migrations

WINDOW = timedelta(minutes=1)


def fill(apps, schema_editor):
    UnitRegistration = apps.get_model("members", "UnitRegistration")
    RoleGrant = apps.get_model("accounts", "RoleGrant")
    approved = UnitRegistration.objects.filter(status="approved", approved_at__isnull=False, liaison_grant__isnull=True)
    for registration in approved.order_by("approved_at", "id"):
        grant = (
            RoleGrant.objects.filter(
                user_id=registration.filed_by_id,
                role="unit_liaison",
                organization_id=registration.organization_id,
                granted_by_id=registration.decided_by_id,
                created_at__gte=registration.approved_at,
                created_at__lte=registration.approved_at + WINDOW,
            )
            .order_by("created_at", "id")
            .first()
        )
        if grant is not None:
            registration.liaison_grant = grant
            registration.save(update_fields=["liaison_grant"])
    for registration in UnitRegistration.objects.filter(status="approved", liaison_grant__isnull=True):
        shared = (
            UnitRegistration.objects.filter(
                status="approved",
                filed_by_id=registration.filed_by_id,
                organization_id=registration.organization_id,
                liaison_grant__revoked_at__isnull=True,
            )
            .exclude(liaison_grant__isnull=True)
            .values_list("liaison_grant_id", flat=True)
            .first()
        )
        if shared is not None:
            registration.liaison_grant_id = shared
            registration.save(update_fields=["liaison_grant"])


class Migration(migrations.Migration):
    dependencies = [("members", "0008_unitregistration_liaison_grant")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]

"""A member's organisation came from whatever registration they last filed, approved or not.

From now on it is the organisation of their approved registration, else nothing: members whose
organisation came only from a pending, rejected or ended registration lose it. Each existing
registration also gets the history of the states its timestamps show.
"""

from django.db import migrations

APPROVED = "approved"


def organisation_from_approval(apps, schema_editor):
    PartyMember = apps.get_model("members", "PartyMember")
    MemberRegistration = apps.get_model("members", "MemberRegistration")
    approved = dict(
        MemberRegistration.objects.filter(status=APPROVED).values_list("member_id", "organization_id")
    )
    for member in PartyMember.objects.only("id", "organization_id").iterator():
        organization_id = approved.get(member.pk)
        if member.organization_id != organization_id:
            PartyMember.objects.filter(pk=member.pk).update(organization_id=organization_id)


def history_from_timestamps(apps, schema_editor):
    MemberRegistration = apps.get_model("members", "MemberRegistration")
    RegistrationStep = apps.get_model("members", "RegistrationStep")
    steps = []
    for registration in MemberRegistration.objects.filter(steps__isnull=True).iterator():
        user_id = registration.member.user_id
        steps.append(
            RegistrationStep(
                registration=registration, to_status="pending", actor_id=user_id, at=registration.submitted_at
            )
        )
        status = registration.status
        if registration.decided_at is not None and status in ("approved", "rejected", "withdrawn", "revoked"):
            decided = APPROVED if registration.approved_at is not None else "rejected"
            reason = registration.reason if decided == "rejected" else ""
            steps.append(
                RegistrationStep(
                    registration=registration,
                    from_status="pending",
                    to_status=decided,
                    actor_id=registration.decided_by_id,
                    reason=reason,
                    at=registration.decided_at,
                )
            )
        if status in ("withdrawn", "revoked") and registration.withdrawn_at is not None:
            before = APPROVED if registration.approved_at is not None else "pending"
            steps.append(
                RegistrationStep(
                    registration=registration,
                    from_status=before,
                    to_status=status,
                    actor_id=user_id if status == "withdrawn" else None,
                    at=registration.withdrawn_at,
                )
            )
    RegistrationStep.objects.bulk_create(steps, batch_size=500)


def back_to_claims(apps, schema_editor):
    """Back: the organisation named in the latest registration, as before (organisation not null)."""
    PartyMember = apps.get_model("members", "PartyMember")
    MemberRegistration = apps.get_model("members", "MemberRegistration")
    for member in PartyMember.objects.filter(organization__isnull=True).iterator():
        latest = MemberRegistration.objects.filter(member=member).order_by("-id").first()
        if latest is not None:
            PartyMember.objects.filter(pk=member.pk).update(organization_id=latest.organization_id)


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0006_membership_from_approval"),
    ]

    operations = [
        migrations.RunPython(organisation_from_approval, back_to_claims),
        migrations.RunPython(history_from_timestamps, migrations.RunPython.noop),
    ]

"""Which liaison grant a unit registration's approval made (filled by the next migration)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_personal_data_access_append_only"),
        ("members", "0007_membership_from_approved_registrations"),
    ]

    operations = [
        migrations.AddField(
            model_name="unitregistration",
            name="liaison_grant",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="accounts.rolegrant",
            ),
        ),
    ]

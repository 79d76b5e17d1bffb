from django.db import migrations

# The global defaults; a street's admins override any of them for their street in the console.
# Codes for attendance match the activity categories, so an activity's category names its rule.
DEFAULT_RULES = [
    ("three_meetings_one_lesson", "三会一课出勤", 1, 48),
    ("party_day", "参加主题党日", 2, 24),
    ("party_lesson", "参加党课", 1, 12),
    ("volunteer_hour", "志愿服务(每小时)", 1, 200),
    ("demand_completed", "完成群众需求(微心愿)", 3, 60),
]


def create_rules(apps, schema_editor):
    PointsRule = apps.get_model("members", "PointsRule")
    for code, name, points, cap in DEFAULT_RULES:
        PointsRule.objects.get_or_create(
            code=code, street=None, defaults={"name": name, "points": points, "yearly_cap": cap, "is_active": True}
        )


def remove_rules(apps, schema_editor):
    PointsRule = apps.get_model("members", "PointsRule")
    PointsRule.objects.filter(street=None, code__in=[code for code, *_ in DEFAULT_RULES], entries__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("members", "0001_initial")]

    operations = [migrations.RunPython(create_rules, remove_rules)]

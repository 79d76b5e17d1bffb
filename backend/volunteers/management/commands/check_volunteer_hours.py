"""`manage.py check_volunteer_hours`: every record's effective times and hours against its ledger."""

from django.core.management.base import BaseCommand, CommandError

from backend.volunteers import selectors


class Command(BaseCommand):
    help = "Compare each service record's stored effective times and hours with its reported times and corrections."

    def handle(self, *args, **options):
        mismatches = list(selectors.effective_value_mismatches())
        for mismatch in mismatches:
            self.stdout.write(f"record {mismatch.record_id}: stored {mismatch.stored}, ledger {mismatch.expected}")
        if mismatches:
            raise CommandError(f"{len(mismatches)} record(s) differ from their ledger")
        self.stdout.write("all service records agree with their ledger")

import signal
import time

from django.core.management.base import BaseCommand

from backend.core.scheduler import periodic_jobs, run_due_jobs


class Command(BaseCommand):
    help = "Run the scheduler: enqueue timed jobs (exactly one such process per deployment)."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=30.0, help="seconds between checks")
        parser.add_argument("--once", action="store_true", help="check once and exit")

    def handle(self, *args, interval: float, once: bool, **options):
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"scheduler: jobs {sorted(name for name, _ in periodic_jobs.items())}")
        while True:
            ran = run_due_jobs()
            if ran:
                self.stdout.write(f"scheduler: enqueued {', '.join(ran)}")
            if once or stopping:
                return
            deadline = time.monotonic() + interval
            while not stopping and time.monotonic() < deadline:
                time.sleep(0.5)
            if stopping:
                return

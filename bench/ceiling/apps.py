from django.apps import AppConfig


class CeilingConfig(AppConfig):
    name = "bench.ceiling"
    label = "bench_ceiling"
    verbose_name = "基准对照"

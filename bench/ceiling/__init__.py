"""Reference endpoints that show what the bare stack does on this machine (mounted only with BENCH_CEILING=1)."""

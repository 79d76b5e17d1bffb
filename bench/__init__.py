"""Load benchmarks: `make bench` runs each module here against the production shape on loopback."""

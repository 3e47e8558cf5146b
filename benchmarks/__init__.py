"""`make bench`: throughput benchmarks on an embedded PostgreSQL and NATS (see README.md here)."""

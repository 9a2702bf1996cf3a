"""Load test and benchmark harness for Zapora; ``make bench`` runs it (see docs/benchmarks.md)."""

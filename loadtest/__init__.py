"""Bounded load tests against the production profile on loopback (python -m loadtest)."""

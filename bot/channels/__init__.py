"""Rasa input channels: only the relay's signed channel (signed.py)."""

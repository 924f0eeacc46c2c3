"""The production profile: process layout, supervisor, production entry points (python -m ops)."""

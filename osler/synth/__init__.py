"""Synthetic data and the scripted patient journey."""

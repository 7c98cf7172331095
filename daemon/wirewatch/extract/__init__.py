"""Extraction: the figures and terms an article reports, as pure functions of its text."""

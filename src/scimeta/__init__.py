"""scimeta: reproducible meta-analysis of reported means and SDs."""

__version__ = "0.1.0"

"""ctid: CTI middleware for Asterisk contact centres."""

__version__ = "0.1.0"

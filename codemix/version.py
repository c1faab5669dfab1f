"""The codemix version, in a leaf module so that any part may record it without importing the package API."""

__version__ = "0.1.0"

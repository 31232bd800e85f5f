"""streamauth: authentication for live video streams (the shared Lambda layer)."""

__version__ = "0.1.0"

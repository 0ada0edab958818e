"""The sentiment capability."""

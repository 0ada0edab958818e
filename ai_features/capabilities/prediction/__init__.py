"""The prediction capability."""

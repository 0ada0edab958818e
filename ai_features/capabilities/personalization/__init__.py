"""The personalization capability."""

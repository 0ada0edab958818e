"""Defaults of the ai_features settings; override with AI_FEATURES_<NAME>."""

#: Dotted paths of a project's own Capability classes.
EXTRA_CAPABILITIES: list[str] = []

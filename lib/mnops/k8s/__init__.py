"""One small builder per Kubernetes kind. Each returns a plain dict with empty fields dropped.

Builders take typed arguments, not inventory dictionaries, and raise BuildError with a plain
sentence when asked for something that cannot be valid ("service needs at least one port").
"""

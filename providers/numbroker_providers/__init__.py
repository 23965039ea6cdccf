"""numbroker's built-in provider adapters, one subpackage per provider id.

Nothing is imported eagerly: the core reaches each adapter through its registry by dotted path.
"""

"""Adapters that turn foreign layouts (transaction logs, ...) into the churnml data contract."""

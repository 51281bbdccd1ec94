"""The ``dockyard`` command: one module per noun."""

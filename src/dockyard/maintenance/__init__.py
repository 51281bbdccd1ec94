"""Housekeeping that spans domains: garbage collection of unreferenced content."""

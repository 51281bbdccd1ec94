"""Helpers shared by the test suites: a live Dockyard server and tiny models and datasets."""

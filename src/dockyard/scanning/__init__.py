"""Checks on uploaded files: pickle imports and safetensors headers. Nothing is ever loaded."""

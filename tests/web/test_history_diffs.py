"""The diff renderer's pure parts: how two safetensors headers compare."""

from __future__ import annotations

from dockyard.web.diffs import TensorChange, tensor_changes


def test_tensor_changes_name_what_was_added_removed_and_changed_in_order() -> None:
    old = {"b": "F32 [3]", "a": "F32 [2, 2]", "same": "I64 [1]"}
    new = {"c": "I64 [5]", "b": "F16 [4, 3]", "same": "I64 [1]"}
    assert tensor_changes(old, new) == [
        TensorChange("a", "removed", "F32 [2, 2]", None),
        TensorChange("b", "changed", "F32 [3]", "F16 [4, 3]"),
        TensorChange("c", "added", None, "I64 [5]"),
    ]


def test_identical_headers_have_no_tensor_changes() -> None:
    assert tensor_changes({"w": "BF16 [8]"}, {"w": "BF16 [8]"}) == []

"""The viewer's errors: what the API answers when a step has not run, and the named failures a
step records for its config or split (the dataset-viewer's error codes, so clients and pages can
tell a malformed file from a dataset that is too big)."""

from __future__ import annotations

from dockyard.errors import DockyardError


class ViewerNotReadyError(DockyardError):
    """The steps for this revision have not run yet. The Hub's dataset viewer answers 500 with
    ``X-Error-Code: ResponseNotReady`` and clients retry later; so do we."""

    status = 500
    code = "ResponseNotReady"
    default_message = "The server is busier than usual and the response is not ready yet. Please retry later."


class ViewerStepFailedError(DockyardError):
    """A dataset-level step failed (no data files, an unsupported layout): the answer carries the
    step's own error code, with the 500 status the Hub's viewer gives its step errors."""

    status = 500

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class StepError(Exception):
    """Raised inside a step: recorded as the (config, split) outcome's ``error_code`` and
    ``error`` (never shown as a traceback). ``code`` follows the dataset-viewer's names."""

    code = "UnexpectedError"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class EmptyDatasetError(StepError):
    code = "EmptyDatasetError"


class FileFormatError(StepError):
    """A data file that its format's reader cannot parse (a malformed CSV, invalid JSON)."""

    code = "FileFormatError"


class TooBigContentError(StepError):
    """Over a size, count, row or decompression limit (a zip bomb, an over-large row)."""

    code = "TooBigContentError"


class DatasetWithTooManyFilesError(StepError):
    code = "DatasetWithTooManyDataFilesError"

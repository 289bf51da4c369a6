"""User-facing errors.

Every XnasError carries one line that names what is wrong and what was expected;
the CLI prints that line (no traceback) and exits with code 2. Anything else that
escapes is a bug and keeps its traceback.
"""

from __future__ import annotations


class XnasError(Exception):
    """Base of every error caused by the user's input (config, genome, data, run dir)."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        # One line only: a user sees exactly this in the terminal.
        super().__init__(" ".join(str(message).split()))


class ConfigError(XnasError):
    """A config key or value is wrong (unknown key, wrong type, bad override)."""


class DataError(XnasError):
    """A dataset root, file or option is missing or malformed."""


class GenomeError(XnasError):
    """A genome vector or architecture string is malformed or out of range."""


class StoreError(XnasError):
    """A run directory or its SQLite store is missing, corrupted or foreign."""


class DiskFullError(StoreError):
    """The disk filled while the run wrote: nothing stored is lost; free space and resume."""

    def __init__(self, message: str) -> None:
        super().__init__(
            f"{message}; nothing stored is lost: free space and run `xnas resume` to go on"
        )


class RegistryError(ConfigError):
    """A name looked up in a registry (space, op, dataset, objective, ...) is unknown."""

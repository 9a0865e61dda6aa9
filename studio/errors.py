"""The project's user-facing error: its message names what is wrong and where, in one line."""


class StudioError(Exception):
    """Base of every error shown to a user (CLI prints it as one line, the GUI in its banner)."""

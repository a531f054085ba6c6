"""Errors the CLI turns into a one-line message and exit code 2."""


class PipelineError(Exception):
    """A problem with the user's config or inputs, stated in one line."""


class ConfigError(PipelineError):
    """The config file or an override is invalid."""


class InputError(PipelineError):
    """The inputs cannot be used (missing, unreadable, or nothing usable at all)."""

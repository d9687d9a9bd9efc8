"""Errors a person can fix themselves. The CLI prints their message as one line, never a traceback."""


class UserError(Exception):
    """Something the person running the command can fix; the message says how."""


class SettingError(UserError):
    """A setting is wrong, or names something svbot cannot reach. The message names the setting."""

"""svbot: helps small charities show their social value and meet monitoring deadlines."""

import os
import warnings

__version__ = "0.1.0"

# python-telegram-bot 22.2+ announces that time attributes (RetryAfter.retry_after, ...) become
# datetime.timedelta, and warns on each read until a program opts in with this variable (PTB reads it at
# every access). svbot reads either form (channels/telegram/sender.py), so it opts in for every run,
# tests and users' alike; a value someone set themselves wins.
os.environ.setdefault("PTB_TIMEDELTA", "true")

# PTB warns when `Bot.do_api_request` makes a call it has a function of its own for, to steer people to that
# function. svbot sends and edits text that way on purpose (channels/telegram/sender.py, `_send_text`), so
# the warning would only fill the log. (The tests' own filters say the same, in pyproject.toml.)
warnings.filterwarnings("ignore", r"Please use 'Bot\.(sendMessage|editMessageText)' instead", UserWarning)

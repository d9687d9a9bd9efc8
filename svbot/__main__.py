"""`python -m svbot` is the same as the `svbot` command."""

from svbot.cli import main

main()

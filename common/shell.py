"""What the shell commands of both apps share: asking for a PIN."""
from __future__ import annotations

import click


def pin_option(lengths: tuple[int, int], new: bool = False):
    """Return the ``--pin`` option: ``lengths`` digits, asked for (hidden, twice) when left
    out, which keeps it out of the shell history."""
    low, high = lengths
    return click.option("--pin", prompt=f"{'New PIN' if new else 'PIN'} ({low}-{high} digits)",
                        hide_input=True, confirmation_prompt=True,
                        help=f"{low}-{high} digits; asked for (hidden) when left out, which "
                             "keeps it out of the shell history.")

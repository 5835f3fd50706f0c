"""Typer command-line interface (``trialdesk``)."""

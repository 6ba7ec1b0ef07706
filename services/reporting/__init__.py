"""The reporting service: programme, team and funder figures from the event stream alone."""

"""Watch-desk monitor: polls news and sanctions feeds, matches YAML rules, alerts Slack."""

__version__ = "0.1.0"

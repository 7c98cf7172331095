"""wirewatch: watches a folder for news articles and alerts a team's chat when the news changes."""

__version__ = "0.1.0"

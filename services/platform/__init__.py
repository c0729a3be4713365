"""Building blocks every service shares (log groups, keys)."""

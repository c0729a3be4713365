"""`make bench`: the performance figures, measured in one run on one machine."""

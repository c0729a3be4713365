"""`make bench`: the performance figures of DESIGN §7, measured in one run on one machine."""

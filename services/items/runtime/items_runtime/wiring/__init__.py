"""Each function's collaborators, built on first use and replaceable in tests."""

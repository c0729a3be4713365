"""The audit bundle: collect.py reads cdk.out, render.py writes the files, __main__ runs both."""

"""Runtime code of the items API Lambda function (the asset holds this package only)."""

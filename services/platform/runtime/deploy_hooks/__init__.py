"""CodeDeploy lifecycle hooks for Lambda traffic shifting (the asset holds this package only)."""

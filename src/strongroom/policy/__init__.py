"""IAM policy parsing and evaluation (pure); arrives with the identity issue."""

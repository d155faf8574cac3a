"""AWS Secrets Manager: the service and its version/staging-label rules."""

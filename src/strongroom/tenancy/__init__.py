"""Tenants as objects: onboarding, keys, quotas, sharing, metering, offboarding."""

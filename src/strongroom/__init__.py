"""Strongroom: a self-hosted, multi-tenant secrets manager and KMS with AWS's wire protocols."""

__version__ = "0.1.0"

"""Accounts, roles, identity proofing, authentication, tokens, signing PINs and the OIDC provider.

Empty until the Identity issue lands; it may use ``certs`` and nothing of HTTP.
"""

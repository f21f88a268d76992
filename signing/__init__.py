"""PAdES signing with a key-store-backed signer, stamps, levels B-B..B-LTA, and verification.

Empty until the Signing issue lands; it may use ``certs`` and nothing of HTTP.
"""

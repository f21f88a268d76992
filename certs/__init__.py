"""The certificate authority: key store, profiles, issuance, revocation, CRL, OCSP and TSA."""

"""What the server does by itself every few minutes (and an operator may run by hand): fresh
CRLs before their nextUpdate, the retention purge of signed documents, subscriptions' monthly
fees, and the purge of expired OpenID Connect rows, browser sessions and kept reports. Each is
its own unit of work. (The web pages add the purge of their unsigned drafts.)"""

from __future__ import annotations

from api.pki_services import crl_for, crl_issuers
from api.usecases.services import Services
from api.usecases.signing_requests import lapse_overdue
from billing.charges import charge_fee_of, subscribed_accounts
from identity.oidc import purge_expired as purge_oidc_rows
from identity.web_sessions import WebSessions
from signing.records import purge_expired, purge_kept_reports

__all__ = ["JOBS", "charge_fees", "purge_documents", "purge_oidc", "purge_web", "refresh_crls"]


def refresh_crls(services: Services) -> int:
    """Publish a new CRL for each issuer whose current one is due for refresh."""
    with services.unit_of_work() as session:
        issuers = crl_issuers(services.runtime)
        for issuer in issuers:
            crl_for(services.runtime, session, issuer, services.clock())
    return len(issuers)


def purge_documents(services: Services) -> int:
    """Delete signed documents past their retention period (the records stay); how many."""
    with services.unit_of_work() as session:
        return purge_expired(session, services.signing.store, services.clock())


def charge_fees(services: Services) -> int:
    """The month's fee of every subscription not charged yet, one account per transaction
    (the first charge of a month writes it too; this covers the months an organisation signs
    nothing)."""
    now = services.clock()
    with services.reading() as session:
        accounts = subscribed_accounts(session, now)
    charged = 0
    for account_id in accounts:
        with services.unit_of_work() as session:
            charged += charge_fee_of(session, account_id, now)
    return charged


def purge_oidc(services: Services) -> int:
    """Expired OpenID Connect requests, codes and tokens."""
    with services.unit_of_work() as session:
        return purge_oidc_rows(session, services.clock())


def purge_web(services: Services) -> int:
    """Ended browser sessions and verification reports past their week."""
    now = services.clock()
    with services.unit_of_work() as session:
        return WebSessions.purge(session, now) + purge_kept_reports(session, now)


JOBS = (refresh_crls, purge_documents, charge_fees, purge_oidc, purge_web, lapse_overdue)

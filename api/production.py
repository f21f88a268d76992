"""``KYSO_ENV=production`` refuses to start on a default that is only safe on a desk."""

from __future__ import annotations

from urllib.parse import urlsplit

from api.settings import DEMO_BANK_ACCOUNT, Settings
from kernel.errors import KysoError

__all__ = ["UnsafeProduction", "production_problems", "refuse_unsafe_production"]


class UnsafeProduction(KysoError):
    """A production installation configured with a development default."""

    code = "config.unsafe_production"


def production_problems(settings: Settings) -> list[str]:
    """What stops ``settings`` from running in production, in words (empty: nothing)."""
    if settings.env != "production":
        return []
    problems = []
    url = urlsplit(settings.public_url or "")
    if url.scheme != "https" or not url.hostname:
        problems.append(
            "KYSO_PUBLIC_URL must be the https:// address clients reach (it is written into "
            "every certificate)"
        )
    if settings.master_key is None and not settings.master_key_path.exists():
        problems.append(
            f"give the master key: KYSO_MASTER_KEY (e.g. `openssl rand -hex 32`) or a 0600 file "
            f"{settings.master_key_path} (it is never made silently in production)"
        )
    if settings.payment_provider == "fake":
        problems.append("KYSO_PAYMENT_PROVIDER=fake takes no money: use none")
    if settings.bank_account == DEMO_BANK_ACCOUNT:
        problems.append("KYSO_BANK_ACCOUNT is the demonstration number: set the account number "
                        "top-ups are paid into")  # fmt: skip
    if settings.verify_online and settings.verify_private_addresses:
        problems.append(
            "KYSO_VERIFY_PRIVATE_ADDRESSES=true lets an uploaded certificate make the server "
            "fetch internal addresses"
        )
    return problems


def refuse_unsafe_production(settings: Settings) -> None:
    """Raise :class:`UnsafeProduction` naming every problem, in one line."""
    problems = production_problems(settings)
    if problems:
        raise UnsafeProduction("KYSO_ENV=production refuses to start: " + "; ".join(problems))

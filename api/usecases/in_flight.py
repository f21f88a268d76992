"""A signing attempt while its worker works on it: its lease and holds renewed in the
background, and given up (failed, holds released) when the work fails."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from types import TracebackType

from api.usecases.services import Services
from billing import reservations
from signing import attempts
from signing.errors import AttemptTakenOver
from signing.models import AttemptState

__all__ = ["LeaseKeeper", "give_up"]

logger = logging.getLogger("kyso.api")


class LeaseKeeper:
    """While the block runs, renews the attempt's lease and its holds every third of their
    lifetime, each time in a short transaction of its own: a signing slower than the lifetime
    keeps what it reserved (only a worker that is gone stops renewing). A fast signing never
    writes anything here."""

    def __init__(
        self, services: Services, attempt_id: str, lease: str, *, lease_for: timedelta
    ) -> None:
        self._services, self._attempt_id, self._lease = services, attempt_id, lease
        self._lease_for = lease_for
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kyso-lease", daemon=True)

    def _run(self) -> None:
        interval = self._lease_for.total_seconds() / 3
        while not self._stop.wait(interval):
            try:
                self.renew()
            except Exception:  # the next turn tries again; the final step re-checks anyway
                logger.exception("could not renew signing attempt %s", self._attempt_id)

    def renew(self) -> bool:
        """Renew once; False when the attempt is no longer this worker's."""
        services = self._services
        with services.unit_of_work() as session:
            now = services.clock()
            if not attempts.renew(session, self._attempt_id, self._lease, now=now,
                                  lease_for=self._lease_for):  # fmt: skip
                return False
            reservations.extend(session, self._lease, now + self._lease_for)
            return True

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()


def give_up(services: Services, attempt_id: str, lease: str, failure: BaseException) -> None:
    """The attempt failed: mark it so and give back what it holds (a retry with its key may
    claim it again). Best effort: if this fails too, its lease lapses and the next claim or
    reservation of the account clears it."""
    code = str(getattr(failure, "code", "internal"))[:64]
    try:
        with services.unit_of_work() as session:
            attempts.finish(session, attempt_id, lease, AttemptState.FAILED,
                            now=services.clock(), failure=code)  # fmt: skip
            reservations.release(session, lease)
    except AttemptTakenOver:
        pass  # a retry owns it now, holds and all
    except Exception:  # never hide the request's own outcome
        logger.exception("could not give up signing attempt %s", attempt_id)

"""One logged-in connection to a PKCS#11 token, reconnected when the token comes back.

python-pkcs11 initialises the module without locking callbacks (``C_Initialize(NULL)``), which
allows no concurrent calls into it: a process therefore makes one call at a time, through one
session, under a lock (several ``kyso serve`` processes give parallelism). Every wait is
bounded: a caller waits at most ``wait_seconds`` for the lock, and after a failure the token is
not tried again for ``retry_seconds`` (callers fail fast with :class:`TokenUnavailable`), then
the next call reconnects: finalise, initialise, find the token by label, log in.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pkcs11
from pkcs11 import Attribute, ObjectClass
from pkcs11.exceptions import (
    DeviceError,
    DeviceRemoved,
    KeyHandleInvalid,
    NoSuchKey,
    NoSuchToken,
    ObjectHandleInvalid,
    PKCS11Error,
    SessionClosed,
    SessionHandleInvalid,
    SlotIDInvalid,
    TokenNotPresent,
    TokenNotRecognised,
    UserAlreadyLoggedIn,
    UserNotLoggedIn,
)

from certs.errors import KeyNotFound, KeyStoreError, TokenUnavailable

__all__ = ["Pkcs11Token", "TokenConfig"]


@dataclass(frozen=True)
class TokenConfig:
    """Where the token is and how to log in to it."""

    module: Path
    """The PKCS#11 module (``libsofthsm2.so``, an HSM vendor's client library)."""
    label: str
    """The token's label (``CKA_LABEL`` of the token, as ``pkcs11-tool --list-slots`` shows)."""
    pin: str = field(repr=False)
    """The user PIN of the token; never logged."""
    wait_seconds: float = 5.0
    """Longest wait for the token while other calls of this process use it."""
    retry_seconds: float = 1.0
    """After a failure, calls fail at once for this long before a reconnection is tried."""


_CONNECTION_LOST = (
    DeviceError,
    DeviceRemoved,
    KeyHandleInvalid,
    ObjectHandleInvalid,
    SessionClosed,
    SessionHandleInvalid,
    SlotIDInvalid,
    TokenNotPresent,
    TokenNotRecognised,
    UserNotLoggedIn,
)
"""Errors that say the session or its handles no longer hold (token removed, module
reinitialised): the caller may try again, on a new connection."""

_registry: dict[tuple[str, str], Pkcs11Token] = {}
_registry_lock = threading.Lock()


class Pkcs11Token:
    """A token shared by every key-store handle of the process (see :meth:`shared`)."""

    def __init__(self, config: TokenConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._session: Any = None
        self._objects: dict[tuple[ObjectClass, str], Any] = {}
        self._down_until = 0.0
        self._failed = False

    @classmethod
    def shared(cls, config: TokenConfig) -> Pkcs11Token:
        """The process's connection to this token: one per module and label, since
        reinitialising the module (after a failure) ends every session of the process."""
        key = (str(config.module), config.label)
        with _registry_lock:
            token = _registry.get(key)
            if token is None or token.config != config:
                token = _registry[key] = cls(config)
            return token

    def __repr__(self) -> str:
        return f"Pkcs11Token({self.config.label!r} via {self.config.module})"

    @contextmanager
    def session(self) -> Iterator[Any]:
        """The logged-in session for one operation; ``TokenUnavailable`` when the token cannot
        be reached, ``KeyStoreError`` when it refuses the operation itself."""
        if not self._lock.acquire(timeout=self.config.wait_seconds):
            raise TokenUnavailable("the key token is busy: try again in a moment")
        try:
            session = self._connected()
            try:
                yield session
            except PKCS11Error as exc:
                raise self._failure(exc) from None
        finally:
            self._lock.release()

    def find(self, session: Any, object_class: ObjectClass, label: str) -> Any:
        """The object of that class and label (looked up once per connection);
        ``KeyNotFound`` when the token has none."""
        cached = self._objects.get((object_class, label))
        if cached is not None:
            return cached
        try:
            found = session.get_key(object_class=object_class, label=label)
        except NoSuchKey:
            raise KeyNotFound(f"no key {label!r} on token {self.config.label!r}") from None
        self._objects[(object_class, label)] = found
        return found

    def exists(self, session: Any, label: str) -> bool:
        """Whether any object carries that label."""
        return any(True for _ in session.get_objects({Attribute.LABEL: label}))

    def forget(self, label: str) -> None:
        """Drop cached handles of ``label`` (after it was destroyed)."""
        for key in [k for k in self._objects if k[1] == label]:
            del self._objects[key]

    def _connected(self) -> Any:
        if self._session is not None:
            return self._session
        now = time.monotonic()
        if now < self._down_until:
            raise TokenUnavailable(
                f"the key token {self.config.label!r} is unavailable: try again in a moment"
            )
        try:
            self._session = self._open()
        except Exception:
            self._down_until = now + self.config.retry_seconds
            self._failed = True
            raise TokenUnavailable(
                f"the key token {self.config.label!r} cannot be reached through "
                f"{self.config.module}: try again in a moment"
            ) from None
        return self._session

    def _open(self) -> Any:
        lib = pkcs11.lib(str(self.config.module))
        if self._failed:  # a module that lost its token finds it again only when reinitialised
            lib.reinitialize()
        try:
            token = lib.get_token(token_label=self.config.label)
        except NoSuchToken:  # a token made after the module was initialised: look again
            lib.reinitialize()
            token = lib.get_token(token_label=self.config.label)
        try:
            session = token.open(rw=True, user_pin=self.config.pin)
        except UserAlreadyLoggedIn:  # another connection of this process logged in already
            session = token.open(rw=True)
        self._failed = False
        return session

    def _failure(self, exc: PKCS11Error) -> KeyStoreError:
        """What a PKCS#11 error means: the connection is lost or the token gone (reconnect
        later), or the token refused this one operation (it answers a new connection)."""
        self._session = None
        self._objects.clear()
        if not isinstance(exc, _CONNECTION_LOST):
            try:
                self._session = self._open()
            except Exception:
                self._session = None
            else:
                return KeyStoreError(f"the key token refused the operation ({type(exc).__name__})")
        self._failed = True
        self._down_until = time.monotonic() + self.config.retry_seconds
        return TokenUnavailable(
            f"the key token {self.config.label!r} went away: try again in a moment"
        )

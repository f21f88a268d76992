"""The master key in custodians' hands: SLIP-39 shares, any ``threshold`` of which rebuild it.

Each share is a mnemonic of 33 words (SLIP-39, through Trezor's ``shamir-mnemonic``) that a
person can write down; a word list with a checksum, so a mistyped word is caught at once. Fewer
shares than the threshold tell nothing about the key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shamir_mnemonic import MnemonicError, Share, combine_mnemonics, generate_mnemonics

from certs.errors import MasterKeyError
from certs.masterkey import MasterKey

__all__ = [
    "MAX_SHARES",
    "MasterKeyShares",
    "ShareSetError",
    "SharesBelowThreshold",
    "combine_shares",
    "split_master_key",
]

MAX_SHARES = 16
"""SLIP-39's largest group."""


class ShareSetError(MasterKeyError):
    """A share that is not a valid SLIP-39 share, or shares of different splits."""

    code = "certs.master_key_share"


class SharesBelowThreshold(MasterKeyError):
    """Fewer distinct shares than the split's threshold."""

    code = "certs.master_key_shares_below_threshold"


@dataclass(frozen=True, repr=False)
class MasterKeyShares:
    """A master key split into ``len(shares)`` mnemonics, any ``threshold`` of which rebuild it."""

    master_key_id: str
    """The key's public fingerprint, to check a rebuilt key against."""
    threshold: int
    shares: tuple[str, ...]

    def __repr__(self) -> str:
        return f"MasterKeyShares({self.master_key_id}, {self.threshold} of {len(self.shares)})"


def split_master_key(master_key: MasterKey, *, shares: int, threshold: int) -> MasterKeyShares:
    """Split ``master_key`` into ``shares`` mnemonics, any ``threshold`` of which rebuild it."""
    if not 2 <= threshold <= shares <= MAX_SHARES:
        raise MasterKeyError(
            f"a split needs 2 <= threshold <= shares <= {MAX_SHARES} "
            f"(got {threshold} of {shares}): one share alone would be the key itself"
        )
    (group,) = generate_mnemonics(1, [(threshold, shares)], master_key.secret)
    return MasterKeyShares(master_key.key_id, threshold, tuple(group))


def _reason(exc: MnemonicError) -> str:
    """The library's words without the share's own words it quotes (no share in a message)."""
    return str(exc).split(" for ")[0].split(" word ")[0].split('"')[0].rstrip(" .:")


def _parse(number: int, mnemonic: str) -> Share:
    words = " ".join(mnemonic.lower().split())
    try:
        return Share.from_mnemonic(words)
    except MnemonicError as exc:
        raise ShareSetError(
            f"share {number} is not a valid SLIP-39 share ({_reason(exc)}): "
            "check each word against what the custodian wrote down"
        ) from None


def combine_shares(mnemonics: Iterable[str]) -> MasterKey:
    """The master key rebuilt from shares of one split: at least its threshold of them.

    ``SharesBelowThreshold`` with fewer; ``ShareSetError`` for a damaged share or shares of
    different splits. A repeated share counts once; beyond the threshold the first ones are used.
    """
    chosen: dict[int, Share] = {}
    first: Share | None = None
    for number, mnemonic in enumerate((m for m in mnemonics if m.strip()), start=1):
        share = _parse(number, mnemonic)
        first = first or share
        if share.group_parameters() != first.group_parameters():
            raise ShareSetError(f"share {number} belongs to another split than share 1")
        chosen.setdefault(share.index, share)
    if first is None:
        raise SharesBelowThreshold("no share given")
    needed = first.member_threshold
    if len(chosen) < needed:
        raise SharesBelowThreshold(
            f"{len(chosen)} distinct share(s) given, this master key needs {needed}: "
            "nothing was rebuilt"
        )
    picked = [share.mnemonic() for share in list(chosen.values())[:needed]]
    try:
        secret = combine_mnemonics(picked)
    except MnemonicError as exc:
        raise ShareSetError(f"the shares do not rebuild a key ({_reason(exc)})") from None
    return MasterKey(secret)

"""The master key in custodians' hands: any M of N SLIP-39 shares rebuild it, fewer refuse."""

from __future__ import annotations

import itertools

import pytest

from certs.errors import MasterKeyError
from certs.master_key_shares import (
    SharesBelowThreshold,
    ShareSetError,
    combine_shares,
    split_master_key,
)
from certs.masterkey import MasterKey

KEY = MasterKey(bytes(range(100, 132)))


@pytest.fixture(scope="module")
def five() -> tuple[str, ...]:
    split = split_master_key(KEY, shares=5, threshold=3)
    assert split.master_key_id == KEY.key_id
    assert split.threshold == 3
    return split.shares


def test_shares_are_words_a_person_writes_down_and_none_shows_the_key(
    five: tuple[str, ...],
) -> None:
    assert len(set(five)) == 5
    for share in five:
        assert len(share.split()) == 33  # SLIP-39 for a 256-bit secret
        assert all(word.isalpha() and word.islower() for word in share.split())
        assert KEY.secret.hex() not in share


def test_any_three_of_five_rebuild_the_same_key(five: tuple[str, ...]) -> None:
    for chosen in itertools.combinations(five, 3):
        assert combine_shares(chosen).secret == KEY.secret


def test_more_than_the_threshold_and_repeats_still_rebuild_it(five: tuple[str, ...]) -> None:
    assert combine_shares([five[4], five[4], five[0], five[2], five[1]]).secret == KEY.secret


@pytest.mark.parametrize("given", [0, 1, 2])
def test_fewer_than_the_threshold_are_refused_clearly(five: tuple[str, ...], given: int) -> None:
    with pytest.raises(SharesBelowThreshold) as refused:
        combine_shares(five[:given])
    assert refused.value.code == "certs.master_key_shares_below_threshold"
    if given:
        assert f"{given} distinct share(s) given, this master key needs 3" in refused.value.detail


def test_a_share_given_twice_counts_once(five: tuple[str, ...]) -> None:
    with pytest.raises(SharesBelowThreshold, match="2 distinct"):
        combine_shares([five[0], five[0], five[1]])


def test_a_mistyped_word_is_caught_and_not_echoed(five: tuple[str, ...]) -> None:
    words = five[1].split()
    words[10] = "academic" if words[10] != "academic" else "acid"
    with pytest.raises(ShareSetError, match="share 2 is not a valid SLIP-39 share") as refused:
        combine_shares([five[0], " ".join(words), five[2]])
    assert refused.value.detail == (
        "share 2 is not a valid SLIP-39 share (Invalid mnemonic checksum): "
        "check each word against what the custodian wrote down"
    )  # the library's message quotes the share's first words: left out


def test_shares_of_two_splits_do_not_mix(five: tuple[str, ...]) -> None:
    other = split_master_key(KEY, shares=5, threshold=3).shares
    with pytest.raises(ShareSetError, match="share 3 belongs to another split"):
        combine_shares([five[0], five[1], other[2]])


def test_case_and_spacing_do_not_matter(five: tuple[str, ...]) -> None:
    typed = ["  ".join(share.upper().split()) + "\n" for share in five[:3]]
    assert combine_shares(typed).secret == KEY.secret


@pytest.mark.parametrize(("shares", "threshold"), [(5, 1), (2, 3), (17, 3), (1, 1)])
def test_impossible_splits_are_refused(shares: int, threshold: int) -> None:
    with pytest.raises(MasterKeyError, match="threshold <= shares"):
        split_master_key(KEY, shares=shares, threshold=threshold)

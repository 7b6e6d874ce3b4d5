"""fold_assignment: seeded scikit-learn KFold over items."""

from __future__ import annotations

import numpy as np
import pytest

from persona_lab.bench import fold_assignment


@pytest.mark.parametrize(("n_items", "folds"), [(10, 2), (31, 5), (5, 5), (1307, 5)])
def test_folds_partition_the_items_in_near_equal_parts(n_items: int, folds: int) -> None:
    assignment = fold_assignment(n_items, folds, seed=3)
    assert assignment.shape == (n_items,) and set(assignment) == set(range(folds))
    sizes = np.bincount(assignment)
    assert sizes.max() - sizes.min() <= 1


def test_folds_are_seeded_and_shuffled() -> None:
    first, again, other = fold_assignment(40, 4, 0), fold_assignment(40, 4, 0), fold_assignment(40, 4, 1)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)
    assert not np.array_equal(first, np.repeat(np.arange(4), 10))  # not contiguous blocks


def test_turns_of_an_item_share_its_fold() -> None:
    turns_per_item = np.array([1, 2, 2, 1, 3, 2, 1, 2, 2, 1])
    item_of_turn = np.repeat(np.arange(len(turns_per_item)), turns_per_item)
    fold_of_turn = fold_assignment(len(turns_per_item), 3, seed=0)[item_of_turn]
    for fold in range(3):  # each held-out set is a union of whole items
        items_in = set(item_of_turn[fold_of_turn == fold])
        items_out = set(item_of_turn[fold_of_turn != fold])
        assert items_in and not items_in & items_out


@pytest.mark.parametrize(("n_items", "folds"), [(10, 1), (3, 5)])
def test_impossible_fold_counts_are_refused(n_items: int, folds: int) -> None:
    with pytest.raises(ValueError, match="fold"):
        fold_assignment(n_items, folds, seed=0)

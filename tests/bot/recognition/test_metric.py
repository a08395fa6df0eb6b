"""The fitted block metric: incremental statistics equal a batch fit, fallback, missing blocks, gap shares."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from bot.recognition import metric
from bot.recognition.block_index import BlockIndex
from bot.recognition.block_rows import profile_rows
from bot.recognition.blocks import TAGS_BLOCK, fit_blocks
from bot.recognition.gallery import Gallery
from bot.recognition.metric import BlockStats, fit_block, grouped_sums, run_steps, whitening_matrix
from bot.recognition.vocabulary import Vocabulary
from tests.bot.records import approved_reference, character

TAGGER = "toy@1"
FEATURES = "blocks-test"
VOCABULARY = Vocabulary(tagger=TAGGER, indices=np.array([0, 1, 2]), names=("a", "b", "c"))
WEIGHTS = {TAGS_BLOCK: 1.0, "face": 2.0}


def test_incremental_statistics_equal_a_batch_within_covariance() -> None:
    rng = np.random.default_rng(0)
    groups = {c: rng.normal(c, 1.0, size=(5, 4)) for c in range(3)}
    stats = BlockStats(4)
    for c, rows in groups.items():
        for row in rows:
            stats.add(c, row)
    extra = rng.normal(size=4)
    stats.add(1, extra)
    stats.add(1, extra, sign=-1)  # removing undoes adding
    centred = np.concatenate([rows - rows.mean(axis=0) for rows in groups.values()])
    expected = centred.T @ centred / (len(centred) - 3)
    np.testing.assert_allclose(stats.within_covariance(), expected, atol=1e-9)


def test_too_few_characters_with_two_references_fall_back_to_the_plain_distance() -> None:
    stats = BlockStats(2)
    stats.add(1, np.array([0.0, 1.0]))
    stats.add(1, np.array([1.0, 1.0]))
    stats.add(2, np.array([5.0, 5.0]))
    assert stats.within_covariance() is None
    assert not fit_block(stats, shrink=0.5).whitened
    np.testing.assert_allclose(whitening_matrix(None, 2, 0.5), np.eye(2))


def reference(reference_id: int, character_id: int, tags: list[float], face: list[float] | None = None):
    record = approved_reference(reference_id, character_id, tags, tagger=TAGGER)
    if face is None:
        return record
    return replace(record, features=FEATURES, blocks={"face": np.asarray(face, dtype=np.float32)})


def gallery() -> Gallery:
    made = Gallery(VOCABULARY, features=FEATURES, block_weights=WEIGHTS)
    rng = np.random.default_rng(1)
    for cid, centre in ((1, 0.2), (2, 0.8)):
        for i in range(3):
            tags = list(centre + rng.normal(0, 0.05, 3))
            made.add(
                character(cid, f"C{cid}"), reference(10 * cid + i, cid, tags, list(centre + rng.normal(0, 0.05, 2)))
            )
    # a character none of whose references has a face
    for i in range(3):
        made.add(character(3, "Faceless"), reference(30 + i, 3, list(0.5 + rng.normal(0, 0.05, 3))))
    return made


def test_a_faceless_character_is_not_favoured_on_face_queries_and_shares_sum_to_the_gap() -> None:
    made = gallery()
    query = {"face": np.array([0.2, 0.2])}
    ranking = made.snapshot(np.array([0.2, 0.2, 0.2]), blocks=query).rank()
    assert ranking.candidates[0].character.name == "C1"
    distances = {c.character.id: c.distance for c in ranking.candidates}
    shares = made.block_shares(np.array([0.2, 0.2, 0.2]), query, 1, 3, None)
    assert set(shares) == {TAGS_BLOCK, "face"}
    assert abs(sum(shares.values()) - (distances[3] - distances[1])) < 1e-9


def test_an_approval_changes_the_next_answer_through_the_statistics_alone() -> None:
    made = gallery()
    tags = np.array([0.62, 0.62, 0.62])
    assert made.snapshot(tags).rank().candidates[0].character.name == "Faceless"
    generation = made.blocks.generation
    for i in range(6):
        made.add(character(2, "C2"), reference(40 + i, 2, [0.6, 0.6, 0.6], [0.8, 0.8]))
    assert made.blocks.generation > generation
    assert made.snapshot(tags).rank().candidates[0].character.name == "C2"
    for i in range(6):
        made.remove_reference(40 + i)
    assert made.snapshot(tags).rank().candidates[0].character.name == "Faceless"


def test_blocks_of_another_recipe_are_left_out() -> None:
    made = Gallery(VOCABULARY, features="other", block_weights=WEIGHTS)
    made.add(character(1, "C1"), reference(1, 1, [0.1, 0.1, 0.1], [0.1, 0.1]))
    assert "face" not in made.blocks.stats


def test_block_index_scores_sum_their_parts() -> None:
    index = BlockIndex({"x": 1.0, "y": 3.0})
    for cid, centre in ((1, 0.0), (2, 1.0), (3, 2.0)):
        for offset in (-0.1, 0.1):
            index.add(cid, {"x": np.array([centre + offset]), "y": np.array([centre - offset, 0.0])})
    profiles = [index.profile([{"x": np.array([c - 1.0]), "y": np.array([c - 1.0, 0.0])}]) for c in (1, 2, 3)]
    scores = index.scores({"x": np.array([0.1]), "y": np.array([0.0, 0.0])}, profiles)
    np.testing.assert_allclose(sum(scores.parts.values()), scores.combined)
    assert int(np.argmin(scores.combined)) == 0


def test_a_refit_made_meanwhile_is_installed_and_rows_changed_since_are_rewhitened() -> None:
    made = gallery()
    index = made.blocks
    index.fitted()
    made.add(character(2, "C2"), reference(50, 2, [0.7, 0.7, 0.7], [0.7, 0.7]))
    assert index.stale
    refit = index.prepare_refit()  # statistics of this generation; "the thread" fits them later
    made.add(character(4, "D"), reference(51, 4, [0.1, 0.9, 0.1], [0.1, 0.9]))  # a change while it fits
    assert index.install(refit())
    assert index.stale  # the fit is older than the last change: a later refit makes it exact
    fitted = index.fitted()  # cheap: refits now
    assert not index.stale
    for name, block in fit_blocks(index.stats, index.shrink).items():
        np.testing.assert_allclose(fitted[name].whitening, block.whitening)
        assert fitted[name].scale == pytest.approx(block.scale)
    row = index.row(4)
    stats = index.stats["face"]
    expected = fitted["face"].whitening @ (stats.public_sums[row] / stats.public_counts[row])
    np.testing.assert_allclose(index._rows["face"][0][row], expected, rtol=1e-5, atol=1e-6)


def test_a_newcomer_is_ranked_at_once_with_the_fit_in_hand_when_refitting_is_dear(monkeypatch) -> None:
    from bot.recognition import block_index

    made = gallery()
    made.blocks.fitted()
    monkeypatch.setattr(block_index, "REFIT_BUDGET", 0)  # as for a gallery of 100,000 characters
    tags = np.array([0.95, 0.05, 0.95])
    for i in range(3):
        made.add(character(5, "Newcomer"), reference(70 + i, 5, list(tags + 0.01 * i), [0.95, 0.05]))
    assert made.blocks.stale
    ranking = made.snapshot(tags, blocks={"face": np.array([0.95, 0.05])}).rank()
    assert ranking.candidates[0].character.name == "Newcomer"
    assert made.blocks.stale  # served by the old fit; the refit waits for a thread


@pytest.mark.parametrize("step", [metric.ROW_STEP, 2])
def test_vectorised_statistics_equal_the_definitions(step: int, monkeypatch) -> None:
    monkeypatch.setattr(metric, "ROW_STEP", step)  # the fit's sums over rows, taken in steps of 2 rows
    rng = np.random.default_rng(5)
    stats = BlockStats(3)
    vectors = {c: rng.normal(c, 0.5, size=(4, 3)) for c in range(4)}
    for c, rows in vectors.items():
        for row in rows:
            stats.add(c, row, scope=None if c < 3 else 9)  # one character's references belong to a guild
    fitted = fit_block(stats, shrink=0.5)
    whitening = fitted.whitening
    means = {c: rows.mean(axis=0) for c, rows in vectors.items()}
    pairs = [
        np.linalg.norm(whitening @ x - whitening @ means[other])
        for c, rows in vectors.items()
        for x in rows
        for other in means
        if other != c
    ]
    assert fitted.scale == pytest.approx(float(np.sqrt(np.mean(np.square(pairs)))))
    centred = np.concatenate([rows - rows.mean(axis=0) for rows in vectors.values()])
    np.testing.assert_allclose(stats.within_covariance(), centred.T @ centred / (len(centred) - 4), atol=1e-9)
    profiles, squares = profile_rows(stats, fitted)
    public = np.stack([whitening @ (means[c] - stats.shift) for c in range(3)])  # in the statistics' frame; the
    # guild's character has no public profile
    np.testing.assert_allclose(profiles[:4], np.r_[public, np.zeros((1, 3))], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(squares[:4], np.square(profiles[:4]).sum(axis=1), rtol=1e-5)


def test_a_mirrored_view_counts_in_the_metric_and_the_profile_and_leaves_with_its_reference() -> None:
    made = gallery()
    before = made.blocks.stats["face"].total
    record = reference(60, 2, [0.8, 0.8, 0.8], [0.8, 0.9])
    record = replace(record, blocks={**record.blocks, "mirror:face": np.asarray([0.9, 0.8], dtype=np.float32)})
    made.add(character(2, "C2"), record)
    assert made.blocks.stats["face"].total == before + 2  # the reference and its mirrored picture
    assert made.blocks.stats[TAGS_BLOCK].counts[made.blocks.row(2)] == 4  # the tag vector is not mirrored
    assert "mirror:face" not in made.blocks.stats
    views = [view for reference_id in made._entries[2].references for view in made._table.views(reference_id)]
    faces = np.stack([view["face"] for view in views if "face" in view])
    assert len(faces) == 5  # C2's profile averages three references, the new one and its mirrored picture
    profile = made.blocks.profile(views)["face"]
    np.testing.assert_allclose(profile, made.blocks.fitted()["face"].transform(faces.mean(axis=0)))
    made.remove_reference(60)
    assert made.blocks.stats["face"].total == before


@pytest.mark.parametrize("step", [metric.ROW_STEP, 7])
def test_statistics_added_at_once_equal_those_added_one_by_one(step: int, monkeypatch) -> None:
    monkeypatch.setattr(metric, "ROW_STEP", step)  # in steps of about 7 vectors, cut between characters
    rng = np.random.default_rng(8)
    rows = rng.integers(0, 30, size=200)
    vectors = rng.normal(size=(200, 4))
    single, batch = BlockStats(4), BlockStats(4)
    single.add(0, vectors[0])
    batch.add(0, vectors[0])  # the same shift for both
    for row, vector in zip(rows, vectors, strict=True):
        single.add(int(row), vector)
    batch.add_many(rows, vectors)
    np.testing.assert_array_equal(batch.public_counts[:30], single.public_counts[:30])
    np.testing.assert_allclose(batch.public_sums[:30], single.public_sums[:30], atol=1e-9)
    np.testing.assert_allclose(batch.outer, single.outer, atol=1e-9)


def test_repeated_pictures_do_not_make_a_degenerate_whitening() -> None:
    stats = BlockStats(3)
    for row, vector in ((1, [0.0, 0.0, 1.0]), (2, [5.0, 1.0, 0.0])):
        for _ in range(2):  # each character's two references are the same picture
            stats.add(row, np.asarray(vector) + 1e-9 * np.random.default_rng(row).normal(size=3))
    fitted = fit_block(stats, shrink=0.5)
    assert not fitted.whitened and fitted.scale < 10


@pytest.mark.parametrize("sizes", [[5] * 9, [1, 3, 17, 2, 40, 16, 1], [1], [12]])
def test_steps_over_runs_cover_the_rows_and_cut_only_where_a_run_starts(sizes: list[int]) -> None:
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    steps = list(run_steps(starts, sum(sizes), step=10))
    assert [low for low, *_ in steps] == [0] + [high for _, high, *_ in steps[:-1]]  # consecutive
    assert steps[-1][1] == sum(sizes) and steps[-1][3] == len(sizes)
    for low, high, first, last in steps:
        assert low == starts[first] and (last == len(sizes) or high == starts[last])  # whole runs only
        assert starts[last - 1] < low + 10  # its runs start within its 10 rows (the last may run on past them)


@pytest.mark.parametrize("sizes", [[5] * 40, [1, 3, 17, 2, 40, 16, 1], [1]])
def test_grouped_sums_equal_each_run_summed_alone(sizes: list[int]) -> None:
    ends = np.cumsum(sizes)
    starts = ends - np.asarray(sizes)
    values = np.random.default_rng(len(sizes)).normal(size=(int(ends[-1]), 3))
    expected = np.stack([values[start:end].sum(axis=0) for start, end in zip(starts, ends, strict=True)])
    np.testing.assert_allclose(grouped_sums(values, starts, ends), expected, atol=1e-12)

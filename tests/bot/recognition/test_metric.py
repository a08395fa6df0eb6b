"""The fitted block metric: incremental statistics equal a batch fit, fallback, missing blocks, gap shares."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from bot.recognition.blocks import TAGS_BLOCK, BlockIndex, fit_blocks
from bot.recognition.gallery import Gallery
from bot.recognition.metric import BlockStats, fit_block, whitening_matrix
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
    profiles = [index.profile(c, [{"x": np.array([c - 1.0]), "y": np.array([c - 1.0, 0.0])}]) for c in (1, 2, 3)]
    scores = index.scores({"x": np.array([0.1]), "y": np.array([0.0, 0.0])}, profiles)
    np.testing.assert_allclose(sum(scores.parts.values()), scores.combined)
    assert int(np.argmin(scores.combined)) == 0


def test_a_fit_made_from_copied_statistics_is_installed_only_if_nothing_changed() -> None:
    made = gallery()
    index = made.blocks
    assert index.stale
    generation, copied = index.statistics()
    made.add(character(2, "C2"), reference(50, 2, [0.7, 0.7, 0.7], [0.7, 0.7]))  # a change while "the thread" fits
    assert not index.install(generation, fit_blocks(copied, index.shrink))
    assert index.stale
    generation, copied = index.statistics()
    fitted = fit_blocks(copied, index.shrink)
    assert index.install(generation, fitted)
    assert not index.stale and index.fitted() is fitted
    for name, block in fit_blocks(index.stats, index.shrink).items():  # the copy fitted what the index holds
        np.testing.assert_allclose(fitted[name].whitening, block.whitening)
        assert fitted[name].scale == block.scale
    copied[TAGS_BLOCK].add(1, np.array([9.0, 9.0, 9.0]))  # the copy is independent of the index
    assert index.stats[TAGS_BLOCK].total == copied[TAGS_BLOCK].total - 1


def test_a_mirrored_view_counts_in_the_metric_and_the_profile_and_leaves_with_its_reference() -> None:
    made = gallery()
    before = made.blocks.stats["face"].total
    record = reference(60, 2, [0.8, 0.8, 0.8], [0.8, 0.9])
    record = replace(record, blocks={**record.blocks, "mirror:face": np.asarray([0.9, 0.8], dtype=np.float32)})
    made.add(character(2, "C2"), record)
    assert made.blocks.stats["face"].total == before + 2  # the reference and its mirrored picture
    assert made.blocks.stats[TAGS_BLOCK].counts[2] == 4  # the tag vector is not mirrored
    assert "mirror:face" not in made.blocks.stats
    views = [view for ref in made._entries[2].vectors.values() for view in ref.views]
    faces = np.stack([view["face"] for view in views if "face" in view])
    assert len(faces) == 5  # C2's profile averages three references, the new one and its mirrored picture
    profile = made.blocks.profile((2, None), views)["face"]
    np.testing.assert_allclose(profile, made.blocks.fitted()["face"].transform(faces.mean(axis=0)))
    made.remove_reference(60)
    assert made.blocks.stats["face"].total == before

"""Fusion with controlled CCIP embeddings: best-k ranking, tie-breaks, unknown, and models never mixed.

The metrics model is a real ONNX graph computing 1 - cosine similarity, so a reference at angle t from
the query has difference 1 - cos(t): each test dials the differences it needs and derives the winner.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from bot.recognition.embedding import BEST_K, best_k_scores, difference_to_confidence
from bot.recognition.gallery import Gallery
from bot.recognition.table_loading import record_columns
from bot.recognition.tagger_characters import character_from_tag, model_characters
from bot.recognition.vocabulary import DEFAULT_CHARACTER_THRESHOLD, Vocabulary, character_threshold
from bot.services.gallery_loading import load_gallery
from bot.store.names import name_key
from bot.store.records import CharacterRecord, ReferenceRecord
from models.ccip import CcipMetric, load_ccip_metric
from models.registry import DEFAULT_TAGGER, get_card
from models.sessions import SessionConfig
from tests.bot.fake_models import THRESHOLD, write_metrics
from tests.bot.records import approved_reference, character

TAGGER = "toy@1"
VOCABULARY = Vocabulary(tagger=TAGGER, indices=np.array([0, 1]), names=("red_hair", "blue_hair"))
DIM = 768
QUERY = np.eye(DIM, dtype=np.float32)[0]


@pytest.fixture(scope="module")
def metric(tmp_path_factory: pytest.TempPathFactory) -> CcipMetric:
    folder = write_metrics(tmp_path_factory.mktemp("ccip"))
    return load_ccip_metric(folder, name="ccip", version="t1", session_config=SessionConfig())


def at_difference(difference: float, axis: int) -> np.ndarray:
    """A unit vector whose 1 - cosine to QUERY is `difference` (the rest of it along its own axis)."""
    cosine = 1.0 - difference
    vector = np.zeros(DIM, dtype=np.float32)
    vector[0], vector[axis] = cosine, np.sqrt(1.0 - cosine**2)
    return vector


_next_id = iter(range(1, 10_000))


def reference(
    character_id: int,
    embedding: np.ndarray | None,
    tags: tuple[float, float] = (0.5, 0.5),
    *,
    guild_id: int | None = None,
    embedder: str | None = "ccip@t1",
) -> ReferenceRecord:
    return approved_reference(
        next(_next_id), character_id, tags, tagger=TAGGER, guild_id=guild_id, embedder=embedder, embedding=embedding
    )


def gallery_of(metric: CcipMetric, differences: dict[str, list[float]], **options: object) -> Gallery:
    """One character per name, with one reference per difference (each on its own axis)."""
    gallery = Gallery(VOCABULARY, metric=metric, **options)
    axis = iter(range(1, DIM))
    for character_id, (name, values) in enumerate(differences.items(), start=1):
        for value in values:
            assert gallery.add(character(character_id, name), reference(character_id, at_difference(value, next(axis))))
    return gallery


def names(gallery: Gallery, **options: object) -> list[str]:
    ranking = gallery.rank(np.array([0.5, 0.5], dtype=np.float32), embedding=QUERY, **options)
    return [candidate.character.name for candidate in ranking.candidates]


def test_the_metric_graph_gives_the_dialled_differences(metric: CcipMetric) -> None:
    references = np.stack([at_difference(value, axis) for axis, value in enumerate([0.05, 0.2, 0.6], start=1)])
    np.testing.assert_allclose(metric.differences_to(QUERY, references), [0.05, 0.2, 0.6], atol=1e-5)
    assert metric.threshold == pytest.approx(THRESHOLD)


def test_several_close_references_beat_a_better_overall_mean(metric: CcipMetric) -> None:
    # Ada: three near-identical pictures and five in other outfits; Bo: three middling ones.
    ada = [0.05, 0.05, 0.05, 0.6, 0.6, 0.6, 0.6, 0.6]
    bo = [0.2, 0.2, 0.2]
    assert np.mean(ada) > np.mean(bo)  # a mean-of-all rule would pick Bo
    gallery = gallery_of(metric, {"Ada": ada, "Bo": bo})
    ranking = gallery.rank(np.array([0.5, 0.5], dtype=np.float32), embedding=QUERY)
    assert ranking.measure == "embedding"
    assert [c.character.name for c in ranking.candidates] == ["Ada", "Bo"]
    assert ranking.candidates[0].distance == pytest.approx(0.05, abs=1e-5)
    assert ranking.candidates[1].distance == pytest.approx(0.2, abs=1e-5)


def test_one_lucky_reference_does_not_beat_several_close_ones(metric: CcipMetric) -> None:
    # Cy's nearest reference (0.10) is closer than any of Di's, but her best three average 0.3667.
    gallery = gallery_of(metric, {"Cy": [0.10, 0.5, 0.5], "Di": [0.12, 0.12, 0.12]})
    ranking = gallery.rank(np.array([0.5, 0.5], dtype=np.float32), embedding=QUERY)
    assert [c.character.name for c in ranking.candidates] == ["Di", "Cy"]
    assert ranking.candidates[1].distance == pytest.approx((0.10 + 0.5 + 0.5) / 3, abs=1e-5)


def test_fewer_than_k_references_are_scored_on_what_there_is(metric: CcipMetric) -> None:
    assert BEST_K == 3
    gallery = gallery_of(metric, {"Di": [0.12, 0.12, 0.12], "Solo": [0.11]})
    assert names(gallery) == ["Solo", "Di"]
    scores = best_k_scores(np.array([0.3, 0.1, 0.2, 0.9, 0.4]), np.array([7, 7, 7, 7, 8]), k=2)
    assert scores == pytest.approx({7: 0.15, 8: 0.4})


@pytest.mark.parametrize("k", [1, 2, 3, 10])
def test_best_k_scores_match_a_per_character_sort(k: int) -> None:
    rng = np.random.default_rng(k)
    owners = rng.integers(1, 8, size=60)
    differences = rng.choice([0.1, 0.2, 0.3, 0.45, 0.9], size=60)  # many ties, owners in no order
    expected = {int(owner): float(np.sort(differences[owners == owner])[:k].mean()) for owner in np.unique(owners)}
    assert best_k_scores(differences, owners, k) == pytest.approx(expected)
    assert best_k_scores(np.zeros(0), np.zeros(0, dtype=np.int64), k) == {}
    assert best_k_scores(np.array([0.4, 0.2]), np.array([5, 5]), 0) == pytest.approx({5: 0.2})  # k below 1 means 1


def test_unknown_is_decided_on_the_closest_pair_not_the_best_k_mean(metric: CcipMetric) -> None:
    """0.12, 0.22 and 0.25 average 0.197 > 0.178, yet the 0.12 pair is the same character by the model's rule."""
    tags = np.array([0.5, 0.5], dtype=np.float32)
    ranking = gallery_of(metric, {"Best": [0.12, 0.22, 0.25], "Other": [0.3, 0.35]}).rank(tags, embedding=QUERY)
    leader = ranking.candidates[0]
    assert leader.character.name == "Best"
    assert leader.distance == pytest.approx((0.12 + 0.22 + 0.25) / 3, abs=1e-5)  # the ranking stays best-k
    assert leader.distance > THRESHOLD
    assert not ranking.unknown
    assert leader.confidence == pytest.approx(float(difference_to_confidence(np.array([0.12]), THRESHOLD)[0]), abs=1e-4)
    assert leader.confidence > 0.5 > ranking.candidates[1].confidence  # 50% sits at the verdict's threshold
    far = gallery_of(metric, {"Near miss": [0.19, 0.2, 0.21], "Far": [0.25, 0.4]}).rank(tags, embedding=QUERY)
    assert far.unknown  # every pair is above the threshold
    assert all(candidate.confidence < 0.5 for candidate in far.candidates)


def test_the_tag_profile_breaks_a_ccip_tie(metric: CcipMetric) -> None:
    gallery = Gallery(VOCABULARY, metric=metric)
    same = at_difference(0.1, 5)
    gallery.add(character(1, "Red"), reference(1, same, (1.0, 0.0)))
    gallery.add(character(2, "Blue"), reference(2, same, (0.0, 1.0)))
    for tags, winner in (((0.9, 0.1), "Red"), ((0.1, 0.9), "Blue")):
        ranking = gallery.rank(np.array(tags, dtype=np.float32), embedding=QUERY)
        assert ranking.candidates[0].character.name == winner
        assert ranking.candidates[0].distance == pytest.approx(ranking.candidates[1].distance)
        assert ranking.candidates[0].tag_distance < ranking.candidates[1].tag_distance


def test_unknown_uses_the_calibrated_threshold_unless_overridden(metric: CcipMetric) -> None:
    far = gallery_of(metric, {"Far": [0.2, 0.2, 0.2]})
    near = gallery_of(metric, {"Near": [0.15, 0.15, 0.15]})
    tags = np.array([0.5, 0.5], dtype=np.float32)
    assert far.unknown_difference == pytest.approx(THRESHOLD)
    assert far.rank(tags, embedding=QUERY).unknown  # 0.2 > 0.178
    assert not near.rank(tags, embedding=QUERY).unknown  # 0.15 <= 0.178
    lenient = gallery_of(metric, {"Far": [0.2, 0.2, 0.2]}, unknown_distance=0.25)
    assert not lenient.rank(tags, embedding=QUERY).unknown
    assert difference_to_confidence(np.array([0.0, THRESHOLD, 2 * THRESHOLD]), THRESHOLD) == pytest.approx(
        [1.0, 0.5, 0.2]
    )
    assert near.rank(tags, embedding=QUERY).candidates[0].confidence > 0.5


def test_without_a_query_embedding_the_tags_rank(metric: CcipMetric) -> None:
    gallery = Gallery(VOCABULARY, metric=metric)
    gallery.add(character(1, "Red"), reference(1, at_difference(0.5, 1), (1.0, 0.0)))
    gallery.add(character(2, "Blue"), reference(2, at_difference(0.01, 2), (0.0, 1.0)))
    ranking = gallery.rank(np.array([1.0, 0.0], dtype=np.float32))
    assert ranking.measure == "tags"
    assert ranking.candidates[0].character.name == "Red"
    assert gallery.rank(np.array([1.0, 0.0], dtype=np.float32), embedding=QUERY).candidates[0].character.name == "Blue"


def test_guild_embeddings_serve_only_their_guild(metric: CcipMetric) -> None:
    gallery = gallery_of(metric, {"Ada": [0.3], "Bo": [0.2]})
    gallery.add(character(1, "Ada"), reference(1, at_difference(0.01, 700), guild_id=55))
    assert names(gallery) == ["Bo", "Ada"]
    assert names(gallery, guild_id=55) == ["Ada", "Bo"]
    local = character(3, "Local", guild_id=55)
    local_reference = reference(3, at_difference(0.0, 701), guild_id=55)
    gallery.add(local, local_reference)
    assert "Local" not in names(gallery, guild_id=56)
    assert names(gallery, guild_id=55)[0] == "Local"
    promoted = character(3, "Local")  # promotion makes the character and its references global
    gallery.update_character(promoted)
    gallery.add(promoted, ReferenceRecord(**{**local_reference.__dict__, "guild_id": None}))
    assert names(gallery, guild_id=56)[0] == "Local"


class _Store:
    """The store reads `load_gallery` makes, over records built here (no calibrated cutoff)."""

    def __init__(self, references: list[ReferenceRecord], characters: dict[int, CharacterRecord]) -> None:
        self.references = references
        self.characters = characters

    async def list_references(self, **_filters: object) -> list[ReferenceRecord]:
        return list(self.references)

    async def get_character(self, character_id: int) -> CharacterRecord | None:
        return self.characters.get(character_id)

    @contextlib.asynccontextmanager
    async def gallery_stream(self, *, tagger: str, embedder: str | None, features: str | None):
        """What the store's load selects: this tagger's references, and this embedder's embeddings; one partition."""
        chosen = [
            r
            for r in self.references
            if r.tagger == tagger and (embedder is None or (r.embedder == embedder and r.embedding is not None))
        ]
        pairs = [(self.characters[r.character_id], r) for r in chosen if r.character_id in self.characters]

        async def partitions():
            yield record_columns(pairs, features)

        yield {c.id: c for c, _ in pairs}, len(self.references), partitions()

    async def approved_model_counts(self) -> Counter[tuple[str, str | None]]:
        return Counter((r.tagger, r.embedder) for r in self.references)

    async def unknown_cutoff(self, tagger: str, measure: str) -> None:
        return None


async def test_a_gallery_never_mixes_vectors_of_two_models(
    metric: CcipMetric, caplog: pytest.LogCaptureFixture
) -> None:
    good = reference(1, at_difference(0.1, 1))
    other_embedder = reference(1, at_difference(0.0, 2), embedder="ccip@old")
    no_embedding = reference(2, None)
    other_tagger = ReferenceRecord(**{**good.__dict__, "id": 999, "tagger": "palette@1"})
    store = _Store([good, other_embedder, no_embedding, other_tagger], {1: character(1, "Ada"), 2: character(2, "Bo")})
    gallery = await load_gallery(store, VOCABULARY, metric=metric)
    assert len(gallery) == 1 and gallery.character_count == 1
    assert gallery.skipped == 3
    assert "waifu-bot reindex" in caplog.text
    ranking = gallery.rank(np.array([0.5, 0.5], dtype=np.float32), embedding=QUERY)
    assert ranking.candidates[0].distance == pytest.approx(0.1, abs=1e-5)  # not the 0.0 of the old embedder
    without_ccip = await load_gallery(store, VOCABULARY)
    assert len(without_ccip) == 3 and without_ccip.embedder is None  # tag vectors of toy@1, whatever embedder


def test_character_tags_become_display_names_and_series() -> None:
    assert character_from_tag("hatsune_miku") == ("Hatsune Miku", None)
    assert character_from_tag("tohsaka_rin_(fate/stay_night)") == ("Tohsaka Rin", "Fate/Stay Night")
    assert character_from_tag("saber_(fate)") == ("Saber", "Fate")
    assert name_key("Hatsune  Miku") == name_key(character_from_tag("hatsune_miku")[0]) == name_key("HATSUNE MIKU")


def test_model_characters_above_the_threshold_most_probable_first() -> None:
    probs = np.array([0.99, 0.5, 0.9, 0.86, 0.84], dtype=np.float32)
    found = model_characters(probs, np.array([1, 2, 3, 4]), ("a_(x)", "b", "c", "d"), 0.85)
    assert [(item.tag, item.name, item.probability) for item in found] == [
        ("b", "B", pytest.approx(0.9)),
        ("c", "C", pytest.approx(0.86)),
    ]
    assert model_characters(probs, np.zeros(0, dtype=np.int64), (), 0.85) == []


def test_character_threshold_comes_from_the_model_card() -> None:
    assert character_threshold(DEFAULT_TAGGER) == get_card(DEFAULT_TAGGER).thresholds["character"]
    assert character_threshold("some-folder") == DEFAULT_CHARACTER_THRESHOLD == 0.85


def test_ccip_metric_reads_its_folder(tmp_path: Path) -> None:
    folder = write_metrics(tmp_path / "m", threshold=0.25)
    loaded = load_ccip_metric(folder, name="ccip", version="v9", session_config=SessionConfig())
    assert loaded.identity == "ccip@v9" and loaded.threshold == 0.25
    assert loaded.differences_to(QUERY, np.zeros((0, DIM), dtype=np.float32)).shape == (0,)

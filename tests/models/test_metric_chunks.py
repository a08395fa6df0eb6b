"""Feeding a pairwise metrics graph: chunks chosen from the measured run cost give the full matrix's numbers.

The graph is `pair_mlp_metrics_graph` (CCIP metrics signature, an MLP over every pair), so an entry depends only
on its two rows, like the real model's; the expected numbers come from that graph's full [N, N] output for
[queries; references] and from its float64 numpy twin.
"""

from __future__ import annotations

from itertools import pairwise
from typing import TYPE_CHECKING

import numpy as np
import pytest

from models.ccip import CcipMetric
from models.metric_chunks import CALIBRATION_ROWS, RunCost, best_chunk, chunk_bounds, measure_run_cost
from models.sessions import SessionConfig, create_session
from tests.models.hub_graphs import CCIP_DIM, pair_mlp_differences, pair_mlp_metrics_graph

if TYPE_CHECKING:
    import onnxruntime as ort

CHUNK = 4


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> ort.InferenceSession:
    return create_session(pair_mlp_metrics_graph(tmp_path_factory.mktemp("pair") / "m.onnx"), SessionConfig())


def _vectors(count: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(count, CCIP_DIM)).astype(np.float32)


def _full(metric: CcipMetric, queries: np.ndarray, references: np.ndarray) -> np.ndarray:
    """The query rows of the whole [Q + M, Q + M] matrix: what any feeding must reproduce."""
    return metric.differences(np.concatenate([queries, references]))[: len(queries), len(queries) :]


@pytest.mark.parametrize("count", [1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 2])
def test_one_query_below_at_and_above_the_chunk_matches_the_full_matrix(
    session: ort.InferenceSession, count: int
) -> None:
    metric = CcipMetric(session, 0.2, name="pair", version="1", chunk=CHUNK)
    query, references = _vectors(1, 1), _vectors(count, 2)
    found = metric.differences_to(query[0], references)
    assert found.shape == (count,)
    np.testing.assert_allclose(found, _full(metric, query, references)[0], atol=1e-6)
    np.testing.assert_allclose(found, pair_mlp_differences(np.concatenate([query, references]))[0, 1:], atol=1e-5)


@pytest.mark.parametrize("count", [CHUNK - 1, CHUNK, 2 * CHUNK + 1])
def test_several_queries_share_runs_and_match_the_full_matrix(session: ort.InferenceSession, count: int) -> None:
    metric = CcipMetric(session, 0.2, name="pair", version="1", chunk=CHUNK)
    queries, references = _vectors(3, 3), _vectors(count, 4)
    found = metric.differences_many(queries, references)
    assert found.shape == (3, count)
    np.testing.assert_allclose(found, _full(metric, queries, references), atol=1e-6)
    for row, query in enumerate(queries):  # one at a time or together: the same numbers
        np.testing.assert_allclose(found[row], metric.differences_to(query, references), atol=1e-6)


def test_the_measured_chunk_matches_the_full_matrix_and_stays_within_a_run(session: ort.InferenceSession) -> None:
    metric = CcipMetric(session, 0.2, name="pair", version="1")
    queries, references = _vectors(2, 5), _vectors(300, 6)
    assert metric.run_cost is None
    found = metric.differences_many(queries, references)
    assert metric.run_cost is not None  # measured by the first call that needed a choice
    np.testing.assert_allclose(found, _full(metric, queries, references), atol=1e-6)
    assert 1 <= metric.chunk_for(2, references.shape) <= 256 - 2
    assert metric.differences_to(queries[0], np.zeros((0, CCIP_DIM), dtype=np.float32)).shape == (0,)


def test_the_cost_model_is_fitted_from_timed_runs() -> None:
    truth = RunCost(overhead=20e-6, per_row=1e-6, per_pair=0.5e-6)
    now = [0.0]
    sizes: list[int] = []

    def run(stack: np.ndarray) -> None:  # a run whose time is exactly the model's, on a clock it advances
        sizes.append(len(stack))
        now[0] += float(truth.seconds(len(stack)))

    fitted = measure_run_cost(run, 16, clock=lambda: now[0])
    assert set(sizes) == set(CALIBRATION_ROWS)
    assert fitted.overhead == pytest.approx(truth.overhead, rel=1e-6)
    assert fitted.per_row == pytest.approx(truth.per_row, rel=1e-6)
    assert fitted.per_pair == pytest.approx(truth.per_pair, rel=1e-6)


def test_the_chunk_balances_run_overhead_against_wasted_pairs() -> None:
    cpu = RunCost(overhead=20e-6, per_row=0.0, per_pair=0.5e-6)
    # One query: cost per reference ~ (overhead + (c + 1)^2 pair) / c, least near c + 1 = sqrt(overhead / pair).
    assert 5 <= best_chunk(cpu, 1, 4096) <= 7
    assert best_chunk(cpu, 1, 3) == 3  # fewer references than the balance point: one run
    free_pairs = best_chunk(RunCost(20e-6, 0.0, 0.0), 1, 4096)
    assert -(-4096 // free_pairs) == -(-4096 // 255)  # free pairs: as few runs as 255-reference runs allow
    assert best_chunk(RunCost(0.0, 0.0, 0.5e-6), 1, 4096) == 1  # free runs: no wasted pair at all
    assert best_chunk(cpu, 8, 4096) > best_chunk(cpu, 1, 4096)  # more queries use more of each run


def test_chunk_bounds_cover_every_reference_once_in_even_runs() -> None:
    assert chunk_bounds(0, 8) == []
    for count, chunk in ((1, 8), (8, 8), (9, 8), (4096, 7), (256, 255)):
        bounds = chunk_bounds(count, chunk)
        assert bounds[0][0] == 0 and bounds[-1][1] == count
        assert all(stop == start for (_, stop), (start, _) in pairwise(bounds))
        sizes = [stop - start for start, stop in bounds]
        assert max(sizes) <= chunk and max(sizes) - min(sizes) <= 1
        assert len(bounds) == -(-count // chunk)

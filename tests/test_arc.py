"""ARC task: task/collection/grid parsing, clear errors, the official token layout and crop, augmentations,
voting, collections on disk, curated examples."""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from trm_viz.tasks import Puzzle, PuzzleError, get_task
from trm_viz.tasks import arc as A
from trm_viz.tasks import arc_data
from trm_viz.tasks.arc_aug import ArcAug, parse_name, pass_at_k, vote

T = get_task("arc")
TASK = {"train": [{"input": [[1, 0], [0, 0]], "output": [[0, 1], [0, 0]]},
                  {"input": [[0, 0], [2, 0]], "output": [[0, 0], [0, 2]]}],
        "test": [{"input": [[3, 0], [0, 0]], "output": [[0, 3], [0, 0]]}, {"input": [[0, 0], [4, 0]]}]}

grids = st.integers(1, 30).flatmap(lambda h: st.integers(1, 30).flatmap(
    lambda w: st.lists(st.lists(st.integers(0, 9), min_size=w, max_size=w), min_size=h, max_size=h)))
_fast = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_grids = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])  # up to 30x30 each


# --- parsing ----------------------------------------------------------------------------------------------------
def test_task_json_gives_the_first_test_input_with_demos_and_solution():
    for data in (TASK, json.dumps(TASK), json.dumps(TASK).encode()):
        p = T.parse(data, filename="0a1b2c3d.json")
        assert p.grid.tolist() == [[3, 0], [0, 0]] and p.solution.tolist() == [[0, 3], [0, 0]]
        assert [(i.tolist(), o.tolist()) for i, o in p.demos] == [(d["input"], d["output"]) for d in TASK["train"]]
        assert p.arc_task_id == "0a1b2c3d" and T.validate(p) == []
    second = T.parse(TASK, task_id="mytask", test_index=1)
    assert second.grid.tolist() == [[0, 0], [4, 0]] and second.solution is None and second.arc_task_id == "mytask"
    assert any("not known" in n for n in T.validate(second))
    assert T.parse(TASK, filename="my task.json").arc_task_id is None        # not an ARC id: none guessed
    with pytest.raises(PuzzleError, match="2 test input"):
        T.parse(TASK, test_index=2)


def test_collection_needs_a_task_id_unless_it_holds_one_task():
    collection = {"aaaaaaaa": TASK, "bbbbbbbb": {"train": [], "test": [{"input": [[5]]}]}}
    p = T.parse(json.dumps(collection), task_id="bbbbbbbb")
    assert p.grid.tolist() == [[5]] and p.arc_task_id == "bbbbbbbb" and p.demos == []
    assert T.parse({"aaaaaaaa": TASK}).arc_task_id == "aaaaaaaa"
    with pytest.raises(PuzzleError, match="holds 2 ARC tasks.*aaaaaaaa, bbbbbbbb"):
        T.parse(collection)
    with pytest.raises(PuzzleError, match="No task 'aaaaaaab'.*similar: aaaaaaaa"):
        T.parse(collection, task_id="aaaaaaab")


def test_a_single_grid_in_any_form():
    g = [[0, 1, 2], [3, 4, 5]]
    for data in (g, np.array(g), json.dumps(g), "012\n345\n", T.to_text(np.array(g))):
        p = T.parse(data)
        assert p.grid.tolist() == g and p.demos == [] and p.solution is None
    notes = T.validate(T.parse(g))
    assert any("No ARC task id" in n for n in notes) and any("not known" in n for n in notes)


@pytest.mark.parametrize("data, words", [
    ([[0] * 31], ["31 columns", "at most 30"]),
    ([[0]] * 31, ["31 rows", "at most 30"]),
    ([[0, 1], [2]], ["Row 2", "1 cells", "row 1 has 2"]),
    ([[0, 10]], ["row 1, column 2", "10", "0 to 9"]),
    ([[0, -1]], ["-1"]),
    ([[0, "3"]], ["'3'"]),
    ([[1.5]], ["1.5"]),
    ([[True]], ["True"]),
    ([], ["non-empty"]),
    ([[]], ["Row 1", "non-empty"]),
    ({"test": [{"input": [[0]]}]}, ["no 'train' list"]),
    ({"train": []}, ["no 'test' list"]),
    ({"train": [], "test": []}, ["no test inputs"]),
    ({"train": {}, "test": [{"input": [[0]]}]}, ["'train' must be a list"]),
    ({"train": [{"input": [[0]]}], "test": [{"input": [[0]]}]}, ["training pair 1 has no 'output'"]),
    ({"train": [], "test": [{"output": [[0]]}]}, ["test pair 1 has no 'input'"]),
    ({"train": [], "test": [[[0]]]}, ["test pair 1 must be an object"]),
    ({"train": [], "test": [{"input": [[0, 1], [1]]}]}, ["Row 2 of the input of the test pair 1"]),
    ({"train": [], "test": [{"input": [[0]], "output": [[12]]}]}, ["output of the test pair 1", "12"]),
    ({}, ["Expected an ARC task"]),
    ("[[0, 1]", ["not valid JSON"]),
    ("[[" + "9" * 5000 + "]]", ["not valid JSON: a number is too long"]),    # Python converts 4,300 digits at most
    ("3.5", ["Expected an ARC task"]),
    ({"aaaaaaaa": 5, "bbbbbbbb": 6}, ["holds 2"]),
])
def test_bad_input_says_what_and_where(data, words):
    with pytest.raises(PuzzleError) as e:
        T.parse(data)
    assert all(w in str(e.value) for w in words), str(e.value)


def test_a_collection_entry_that_is_not_a_task_is_named():
    with pytest.raises(PuzzleError, match="must be a JSON object"):
        T.parse({"aaaaaaaa": 5, "bbbbbbbb": 6}, task_id="aaaaaaaa")
    with pytest.raises(PuzzleError, match="Task bbbbbbbb: The task has no test inputs"):
        A.load_data_file(json.dumps({"aaaaaaaa": TASK, "bbbbbbbb": {"train": [], "test": []}}))


# --- tokens -----------------------------------------------------------------------------------------------------
def test_encoding_matches_the_official_layout():
    tokens = T.encode(np.array([[0, 1, 2], [3, 4, 5]]), offset=(1, 2)).reshape(30, 30)
    assert tokens[1:3, 2:5].tolist() == [[2, 3, 4], [5, 6, 7]]          # colour c -> c + 2
    assert tokens[3, 2:5].tolist() == [1, 1, 1] and tokens[1:3, 5].tolist() == [1, 1]   # end markers
    assert tokens[3, 5] == 0 and (tokens != 0).sum() == 6 + 3 + 2      # no corner marker, pad elsewhere
    full = T.encode(np.zeros((30, 30), dtype=int)).reshape(30, 30)
    assert (full == 2).all()                                           # no room: no end markers
    edge = T.encode(np.zeros((2, 30), dtype=int)).reshape(30, 30)
    assert (edge[2] == 1).all() and (edge[3:] == 0).all()
    with pytest.raises(ValueError, match="does not fit"):
        T.encode(np.zeros((5, 5), dtype=int), offset=(26, 0))


@_grids
@given(grids, st.data())
def test_decode_inverts_encode_at_any_offset(rows, data):
    g = np.array(rows)
    offset = (data.draw(st.integers(0, 30 - g.shape[0])), data.draw(st.integers(0, 30 - g.shape[1])))
    assert np.array_equal(T.decode(T.encode(g, offset), offset), g)
    assert np.array_equal(T.decode(T.encode(g)), g)


def test_a_small_canvas_model_reads_its_own_layout_and_refuses_bigger_grids():
    """A 64-token ARC model works on an 8x8 canvas: same layout, its examples and random tasks fit it, and a test
    input that does not fit gets a message that says what to do (not a crash in the encoder)."""
    small = get_task("arc", 64)
    assert small.canvas_shape == (8, 8) and small is get_task("arc", 64) and get_task("arc", 900) is T
    g = np.array([[1, 2], [3, 4], [5, 6]])
    tokens = small.encode(g, (1, 1)).reshape(8, 8)
    assert tokens[1:4, 1:3].tolist() == [[3, 4], [5, 6], [7, 8]] and tokens[4, 1:3].tolist() == [1, 1]
    assert np.array_equal(small.decode(small.encode(g)), g)
    examples = small.examples()
    assert examples and set(examples) < set(T.examples())
    assert all(max(p.grid.shape + p.solution.shape) <= 8 for p in examples.values())
    for seed in range(5):
        assert max(small.generate(np.random.default_rng(seed)).grid.shape) <= 8
    big = T.parse(json.dumps({"train": [], "test": [{"input": np.zeros((9, 3), int).tolist()}]}))
    with pytest.raises(PuzzleError, match="8x8 canvas: the 9x3 test input does not fit"):
        small.validate(big)
    with pytest.raises(PuzzleError, match="3x3 to 30x30"):
        A.ArcTask(2)


def test_crop_reads_predictions_like_the_official_evaluator():
    canvas = np.zeros((30, 30), dtype=int)
    canvas[0, :5] = canvas[1, :3] = canvas[2, :4] = 5     # row widths 5, 3, 4: width never grows again -> 3x3
    assert A.crop(canvas.reshape(-1)).shape == (3, 3)
    canvas[1, :4] = 5                                       # 5, 4, 4 -> 3x4 = 12 beats 1x5
    assert A.crop(canvas.reshape(-1)).tolist() == [[3] * 4] * 3
    canvas[0, 0] = 1                                        # the first token is an end marker: nothing
    assert T.decode(canvas.reshape(-1)).shape == (0, 0)
    assert T.render(T.decode(canvas.reshape(-1))).size == (16, 16)      # drawable anyway
    with pytest.raises(ValueError, match="900"):
        T.decode(np.zeros(81, dtype=int))


# --- augmentation and voting ------------------------------------------------------------------------------------
@_grids
@given(grids, st.integers(0, 2**32 - 1))
def test_augmentation_inverts_and_keeps_black(rows, seed):
    g = np.array(rows)
    aug = ArcAug.random(np.random.default_rng(seed))
    assert aug.perm[0] == 0 and np.array_equal(aug.invert(aug.apply(g)), g)
    assert ((aug.apply(g) == 0).sum()) == (g == 0).sum()
    task_id, parsed = parse_name(aug.name("007bbfb7"))
    assert task_id == "007bbfb7" and parsed == aug


def test_variant_names_follow_the_official_format():
    aug = ArcAug(3, (0, 9, 1, 8, 2, 7, 3, 6, 4, 5))
    assert aug.name("007bbfb7") == "007bbfb7|||t3|||0918273645"
    assert ArcAug().name("007bbfb7") == "007bbfb7" and parse_name("007bbfb7") == ("007bbfb7", ArcAug())
    assert aug.apply(np.array([[1, 2]])).tolist() == [[9], [1]]       # colours 1->9, 2->1, then rotate 270
    for bad in ("x|||3|||0123456789", "x|||t3|||01234", "x|||t9|||0123456789", "x|||t1"):
        with pytest.raises(ValueError):
            parse_name(bad)


def test_vote_pools_inverse_transformed_predictions_and_ranks_by_votes_then_q():
    answer, wrong, other = np.array([[1, 2], [3, 4]]), np.array([[5]]), np.array([[6, 6]])
    augs = [ArcAug(k, (0,) + tuple(np.random.default_rng(k).permutation(np.arange(1, 10)))) for k in range(8)]
    candidates = [(a.apply(answer), a, 0.2) for a in augs[:3]]                  # 3 votes, low confidence
    candidates += [(augs[3].apply(wrong), augs[3].name("t"), 0.9)] * 2           # 2 votes given by name
    candidates += [(A.encode_grid(other), None, 0.99)]                           # 1 vote, as tokens
    top = vote(candidates)
    assert [v.votes for v in top] == [3, 2] and np.array_equal(top[0].grid, answer)
    assert top[0].mean_q == pytest.approx(0.2) and np.array_equal(top[1].grid, wrong)
    assert pass_at_k(top, answer) and pass_at_k(top, wrong) and not pass_at_k(top, other)
    tie = vote([(wrong, None, 0.3), (answer, None, 0.8)], k=1)                  # equal votes: higher q wins
    assert np.array_equal(tie[0].grid, answer)
    first_seen = vote([(wrong, None, 0.5), (answer, None, 0.5)], k=2)           # full tie: first seen first
    assert np.array_equal(first_seen[0].grid, wrong)


# --- collections, files, examples -------------------------------------------------------------------------------
def test_training_collection_ships_with_test_outputs():
    tasks = arc_data.load_collection("training")
    assert len(tasks) == 400 and all("output" in t for task in tasks.values() for t in task["test"])
    name, task = arc_data.find_task("007bbfb7")
    assert name == "training" and len(task["train"]) == 5
    p = T.generate(np.random.default_rng(1))
    assert p.arc_task_id in tasks and p.solution is not None and T.validate(p) == []
    with pytest.raises(PuzzleError, match="Unknown ARC collection"):
        arc_data.load_collection("nonsense")


def test_data_dir_from_the_environment_with_solutions_merged(tmp_path, monkeypatch):
    (tmp_path / "arc-agi_evaluation_challenges.json").write_text(json.dumps({"abcdef12": {
        "train": TASK["train"], "test": [{"input": [[7]]}]}}))
    (tmp_path / "arc-agi_evaluation_solutions.json").write_text(json.dumps({"abcdef12": [[[8]]]}))
    monkeypatch.setenv("TRM_VIZ_ARC_DIR", str(tmp_path))
    arc_data.load_collection.cache_clear()
    try:
        assert arc_data.load_collection("evaluation")["abcdef12"]["test"][0]["output"] == [[8]]
        with pytest.raises(PuzzleError, match="TRM_VIZ_ARC_DIR"):
            arc_data.load_collection("training2")
        puzzles = A.load_data_file(tmp_path / "arc-agi_evaluation_challenges.json")
        assert len(puzzles) == 1 and puzzles[0].solution.tolist() == [[8]] and puzzles[0].arc_task_id == "abcdef12"
        for broken in ([1, 2], {"abcdef12": 5}):       # a solutions file of another shape: said, not a crash
            (tmp_path / "arc-agi_evaluation_solutions.json").write_text(json.dumps(broken))
            with pytest.raises(PuzzleError, match="solutions file must be a JSON object"):
                A.load_data_file(tmp_path / "arc-agi_evaluation_challenges.json")
    finally:
        arc_data.load_collection.cache_clear()


def test_data_file_gives_one_puzzle_per_test_input(tmp_path):
    path = tmp_path / "0a1b2c3d.json"
    path.write_text(json.dumps(TASK))
    for source in (path, str(path), json.dumps({"0a1b2c3d": TASK})):
        puzzles = A.load_data_file(source)
        assert [p.grid.tolist() for p in puzzles] == [t["input"] for t in TASK["test"]]
        assert {p.arc_task_id for p in puzzles} == {"0a1b2c3d"}
    with pytest.raises(PuzzleError, match="not valid JSON"):
        A.load_data_file("{")


def test_curated_examples_render_in_the_arc_palette():
    examples = T.examples()
    assert len(examples) == 12 and all(p.arc_task_id in arc_data.CURATED for p in examples.values())
    for p in examples.values():
        assert T.validate(p) == [] and p.solution is not None and p.demos
    p = examples["007bbfb7: fractal: copy the shape into itself"]
    img = np.asarray(T.render(p.solution, cell_px=10))
    assert img.shape == (91, 91, 3)
    for r, c in [(0, 0), (4, 7), (8, 8)]:
        colour = A.PALETTE[p.solution[r, c]]
        assert tuple(img[r * 10 + 5, c * 10 + 5]) == tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    assert tuple(img[10, 5]) == A.GRID_LINE and tuple(img[90, 90]) == A.GRID_LINE      # thin grid lines
    assert [c for _, _, c in T.legend()][:3] == ["#000000", "#0074D9", "#FF4136"]


# --- nothing but Puzzle or PuzzleError, whatever arrives ---------------------------------------------------------
json_values = st.recursive(st.none() | st.booleans() | st.integers(-3, 14) | st.floats(allow_nan=False) | st.text(max_size=5),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                               st.sampled_from(["train", "test", "input", "output", "aaaaaaaa"]), inner, max_size=4),
                           max_leaves=30)


@_fast
@given(json_values)
def test_any_json_value_gives_a_puzzle_or_a_puzzle_error(value):
    _parse_and_validate(value)
    _parse_and_validate(json.dumps(value))


@_fast
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_any_bytes_or_text_give_a_puzzle_or_a_puzzle_error(data):
    _parse_and_validate(data)


@_fast
@given(json_values)
def test_any_data_file_gives_puzzles_or_a_puzzle_error(value):
    try:
        assert all(isinstance(p, Puzzle) for p in A.load_data_file(json.dumps(value)))
    except PuzzleError:
        pass


def _parse_and_validate(data) -> None:
    try:
        puzzle = T.parse(data)
        T.validate(puzzle)
    except PuzzleError:
        return
    assert isinstance(puzzle, Puzzle) and 1 <= min(puzzle.grid.shape) and max(puzzle.grid.shape) <= 30

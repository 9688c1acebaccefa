"""Sudoku task: input formats and their errors, the exact solver, generator, symmetries, tokens, pictures."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from trm_viz.tasks import MAX_INPUT_BYTES, Puzzle, PuzzleError, get_task
from trm_viz.tasks.sudoku import conflicts, is_solved
from trm_viz.tasks.sudoku_augment import SudokuAug, random_augmentation
from trm_viz.tasks.sudoku_generate import CHUNK, blank_out, generate_batch, generate_one, random_full_grids
from trm_viz.tasks.sudoku_parse import load_data_file
from trm_viz.tasks.sudoku_solver import count_solutions, search, solve_all, solve_batch

T = get_task("sudoku")
ESCARGOT = "1....7.9..3..2...8..96..5....53..9...1..8...26....4...3......1..4......7..7...3.."
ESCARGOT_SOLUTION = ("162857493534129678789643521475312986913586742628794135356478219241935867897261354")
FAMOUS = {
    "AI Escargot": ESCARGOT,
    "Inkala 2012": "8..........36......7..9.2...5...7.......457.....1...3...1....68..85...1..9....4..",
    "Platinum Blonde": ".......12........3..23..4....18....5.6..7.8.......9.....85.....9...4.5..47...6...",
    "Golden Nugget": ".......39.....1..5..3.5.8....8.9...6.7...2...1..4.......9.8..5..2....6..4..7.....",
    "Easter Monster": "1.......2.9.4...5...6...7...5.9.3.......7.......85..4.7.....6...3...9.8...2.....1",
    "Red Dwarf": "12.3....435....1....4........54..2..6...7.........8.9...31..5.......9.7.....6...8",
}


def digits(s: str) -> np.ndarray:
    return np.array([0 if c in "._0" else int(c) for c in s]).reshape(9, 9)


def assert_valid_full(grid: np.ndarray) -> None:
    g = np.asarray(grid).reshape(9, 9)
    for k in range(9):
        box = g[k // 3 * 3:k // 3 * 3 + 3, k % 3 * 3:k % 3 * 3 + 3]
        for unit in (g[k], g[:, k], box.ravel()):
            assert sorted(unit) == list(range(1, 10))


# --- parsing ---------------------------------------------------------------------------------------------------
def test_every_input_format_gives_the_same_grid():
    g = digits(ESCARGOT)
    rows = [" ".join(str(v) if v else "." for v in r) for r in g]
    boxed = "\n".join(("------+-------+------\n" if r in (3, 6) else "")
                      + " | ".join(rows[r][k:k + 5] for k in (0, 6, 12)) for r in range(9))
    forms = [
        ESCARGOT, ESCARGOT.replace(".", "0"), ESCARGOT.replace(".", "_"), " ".join(ESCARGOT) + "\n",
        T.to_text(g), "\n".join(rows), boxed, "# a comment\n" + boxed,
        "\n".join(",".join(str(v) if v else "" for v in r) for r in g),                 # CSV, empty blanks
        "\n".join(",".join(str(v) for v in r) for r in g) + "\n",                        # CSV, 0 blanks
        json.dumps(g.tolist()), json.dumps({"puzzle": g.tolist()}),
        ESCARGOT.encode(), b"\xef\xbb\xbf" + ESCARGOT.encode(),                          # bytes, UTF-8 BOM
        ESCARGOT.encode("utf-16"), "\ufeff" + ESCARGOT,             # Windows Notepad's UTF-16; a BOM in a string
        g.tolist(), g.ravel().tolist(), g, g.ravel(), [r.replace(" ", "") for r in rows],
        "\n".join(ESCARGOT[k:k + 27] for k in (0, 27, 54)),                              # wrapped lines
    ]
    for form in forms:
        p = T.parse(form)
        assert p.task == "sudoku" and np.array_equal(p.grid, g), form
        assert np.array_equal(p.givens, g != 0)


def test_solution_after_comma_and_round_trips():
    p = T.parse(f"{ESCARGOT},{ESCARGOT_SOLUTION}")
    assert np.array_equal(p.solution, digits(ESCARGOT_SOLUTION))
    assert T.validate(p) == []
    sol = digits(ESCARGOT_SOLUTION)
    assert np.array_equal(T.parse(T.to_text(sol)).grid, sol)
    assert np.array_equal(T.parse(T.to_text(p.grid)).grid, p.grid)
    assert np.array_equal(T.decode(T.encode(p.grid)), p.grid)
    tokens = T.encode(p.grid)
    assert tokens.shape == (81,) and tokens.dtype == np.int64 and tokens[1] == 1 and tokens[0] == 2  # blank, '1'
    assert np.array_equal(T.decode(np.stack([tokens, T.encode(sol)])), np.stack([p.grid, sol]))  # batched
    assert np.array_equal(T.decode(np.zeros(81, int)), np.zeros((9, 9)))                         # pad -> blank


@pytest.mark.parametrize("data, words", [
    (ESCARGOT[:-1], ["80 cells", "81"]),
    (ESCARGOT[:40] + "x" + ESCARGOT[41:], ["Row 5, column 5", "'x'"]),
    ("\n".join([ESCARGOT[k:k + 9] for k in range(0, 72, 9)]), ["8 rows"]),
    ("\n".join([ESCARGOT[k:k + 9] for k in range(0, 81, 9)]).replace("..8\n", ".8\n", 1), ["Row 2", "8 cells"]),
    ("1,2,3\n" * 9, ["CSV row 1", "3 fields"]),
    ("[[1,2],[3]]", ["2 rows"]),
    ("[[1,2,3", ["not valid JSON"]),
    ([[0] * 9] * 8 + [[0] * 8 + [12]], ["Row 9, column 9", "12"]),
    (np.zeros((3, 3)), ["(3, 3)"]),
    ("[" + "[0,0,0,0,0,0,0,0,0]," * 8 + "[0,0,0,0,0,0,0,0,Infinity]]", ["Row 9, column 9", "inf"]),
    ("", ["empty"]),
    (b"\x80\xfe" + b"1" * 79, ["not UTF-8", "0x80"]),
    (b"\xff\xfe" + b"1" * 79, ["starts as UTF-16 text but is not", "truncated data"]),
    (b"." * (MAX_INPUT_BYTES + 1), ["limit"]),
    ((ESCARGOT + "\n") * 3, ["3 puzzles"]),
    (f"{ESCARGOT},{ESCARGOT_SOLUTION[:40]}.{ESCARGOT_SOLUTION[41:]}", ["solution", "blank", "r5c5"]),
], ids=lambda v: str(v)[:30] if isinstance(v, (str, list)) else type(v).__name__)
def test_bad_input_says_what_and_where(data, words):
    with pytest.raises(PuzzleError) as e:
        T.parse(data)
    for w in words:
        assert w in str(e.value), (w, str(e.value))


def test_clashing_clues_name_the_cells():
    g = np.zeros((9, 9), int)
    g[2, 1] = g[2, 6] = 5                      # row 3
    g[0, 8] = g[7, 8] = 4                      # column 9
    g[6, 0] = g[8, 2] = 7                      # box 7
    with pytest.raises(PuzzleError) as e:
        T.validate(T.parse(g))
    msg = str(e.value)
    assert "Row 3 has two 5s (r3c2, r3c7)" in msg
    assert "Column 9 has two 4s (r1c9, r8c9)" in msg
    assert "Box 7 has two 7s (r7c1, r9c3)" in msg


def test_stated_solution_that_disagrees_with_a_clue_is_refused():
    wrong = ESCARGOT_SOLUTION.replace("1", "x", 1).replace("2", "1", 1).replace("x", "2", 1)
    with pytest.raises(PuzzleError, match="r1c1"):
        T.validate(T.parse(f"{ESCARGOT},{wrong}"))
    # in JSON too, whichever way the puzzle is written (a puzzle string dropped its stated solution)
    rows = [ESCARGOT[k:k + 9] for k in range(0, 81, 9)]
    for puzzle in (ESCARGOT, rows):
        with pytest.raises(PuzzleError, match="The solution breaks the rules"):
            T.validate(T.parse(json.dumps({"puzzle": puzzle, "solution": [[1] * 9] * 9})))
        with pytest.raises(PuzzleError, match='The "solution" entry: The line has 2 cells'):
            T.parse(json.dumps({"puzzle": puzzle, "solution": "12"}))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300),
                 st.text(alphabet="123456789._0 |-+\n,", min_size=70, max_size=200),
                 st.lists(st.lists(st.one_of(st.integers(-3, 12), st.none(), st.text(max_size=2), st.floats()),
                                   max_size=10), max_size=10),
                 st.recursive(st.none() | st.booleans() | st.floats() | st.integers(-2, 11) | st.text(max_size=3),
                              lambda inner: st.lists(inner, max_size=10) | st.dictionaries(st.text(), inner),
                              max_leaves=100).map(lambda v: json.dumps(v))))
def test_any_input_gives_a_puzzle_or_a_puzzle_error(data):
    try:
        p = T.parse(data)
    except PuzzleError:
        return
    assert isinstance(p, Puzzle) and p.grid.shape == (9, 9)
    try:
        assert isinstance(T.validate(p), list)
    except PuzzleError:
        pass


# --- solver ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(FAMOUS))
def test_famous_hardest_puzzles_solve_fast_and_uniquely(name):
    g = digits(FAMOUS[name])
    t = time.perf_counter()
    result = search(g, limit=2)
    elapsed = time.perf_counter() - t
    assert result.complete and result.count == 1
    sol = result.solutions[0]
    assert_valid_full(sol)
    assert np.all((g == 0) | (g == sol))
    assert result.guesses > 10                 # they really need search, unlike singles-only puzzles
    assert elapsed < 1.0, f"{name} took {elapsed:.2f} s"
    assert np.array_equal(T.solve(T.parse(FAMOUS[name])), sol)


def test_no_solution_and_several_solutions_are_notes_not_errors():
    g = np.zeros((9, 9), int)
    g[0, :8] = np.arange(1, 9)
    g[4, 8] = 9                                 # r1c9 can hold nothing, yet no clue repeats
    p = T.parse(g)
    notes = T.validate(p)
    assert len(notes) == 1 and "no solution" in notes[0] and p.notes == notes
    assert T.solve(p) is None and count_solutions(g) == 0
    multi = T.parse(ESCARGOT[:-3] + "...")    # drop the last clue (r9c7 = 3)
    assert "several solutions" in T.validate(multi)[0]
    assert T.solve(multi) is None and count_solutions(multi.grid) == 2
    assert len(solve_all(np.zeros(81, int), limit=5)) == 5


def test_solve_batch_reports_counts_and_ratings():
    grids = np.stack([digits(ESCARGOT).ravel(), np.zeros(81, int), digits(ESCARGOT_SOLUTION).ravel()])
    grids[2, :2] = [1, 1]                       # a clash: no solution
    sols, counts, guesses = solve_batch(grids)
    assert sols.shape == (3, 81) and sols.dtype == np.uint8
    assert counts.tolist() == [1, 2, 0]
    assert np.array_equal(sols[0], digits(ESCARGOT_SOLUTION).ravel()) and guesses[0] > 0


def test_conflicts_and_is_solved():
    sol = digits(ESCARGOT_SOLUTION)
    assert is_solved(sol, T.parse(ESCARGOT)) and not conflicts(sol).any()
    broken = sol.copy()
    broken[0, 0], broken[0, 1] = broken[0, 1], broken[0, 0]   # still a permutation per row, breaks columns
    assert not is_solved(broken) and conflicts(broken)[0, 0] and conflicts(broken)[0, 1]
    assert conflicts(broken).sum() >= 4 and not conflicts(broken)[8, 8]


# --- symmetries --------------------------------------------------------------------------------------------------
def test_augmentation_keeps_validity_and_inverts():
    rng = np.random.default_rng(0)
    puzzle, sol = digits(ESCARGOT), digits(ESCARGOT_SOLUTION)
    seen = set()
    for _ in range(20):
        aug = random_augmentation(rng)
        a_sol, a_puz = aug.apply(sol), aug.apply(puzzle)
        assert_valid_full(a_sol)
        assert np.all((a_puz == 0) | (a_puz == a_sol)) and (a_puz == 0).sum() == (puzzle == 0).sum()
        assert np.array_equal(aug.invert(a_sol), sol) and np.array_equal(aug.invert(a_puz), puzzle)
        both = aug.apply(np.stack([puzzle, sol]))                      # a batch with the same transform
        assert np.array_equal(both[1], a_sol)
        seen.add(a_sol.tobytes())
    assert len(seen) == 20
    assert np.array_equal(SudokuAug.identity().apply(sol), sol)


# --- generator ---------------------------------------------------------------------------------------------------
def test_generated_puzzles_are_minimal_unique_and_deterministic():
    puzzles, sols, ratings = generate_batch(40, seed=7, workers=1)
    assert puzzles.shape == sols.shape == (40, 81) and puzzles.dtype == np.uint8
    _, counts, guesses = solve_batch(puzzles)
    assert np.all(counts == 1) and np.array_equal(guesses, ratings)
    assert np.all((puzzles == 0) | (puzzles == sols))
    for k in range(3):                          # minimal: every clue is needed
        for i in np.flatnonzero(puzzles[k]):
            fewer = puzzles[k].copy()
            fewer[i] = 0
            assert count_solutions(fewer) == 2
    again = generate_batch(40, seed=7, workers=1)
    assert all(np.array_equal(a, b) for a, b in zip((puzzles, sols, ratings), again))
    assert not np.array_equal(generate_batch(40, seed=8, workers=1)[0], puzzles)
    assert np.mean(ratings > 0) > 0.3           # most random minimal puzzles need some search


def test_generator_difficulty_bounds_and_task_generate():
    p, s, r = generate_one(11, min_guesses=20)
    assert r >= 20 and search(p).guesses == r
    easy = [generate_one(seed, max_guesses=0)[2] for seed in range(5)]
    assert easy == [0] * 5
    t = time.perf_counter()
    puzzle = T.generate(np.random.default_rng(0), min_guesses=10)
    assert time.perf_counter() - t < 1.0
    assert T.validate(puzzle) == [] and np.array_equal(T.solve(puzzle), puzzle.solution)


def test_batches_do_not_depend_on_the_number_of_workers():
    one = generate_batch(CHUNK + 20, seed=1, workers=1)
    two = generate_batch(CHUNK + 20, seed=1, workers=2)
    assert all(np.array_equal(a, b) for a, b in zip(one, two))


# --- pictures, examples, data files ------------------------------------------------------------------------------
def test_render_draws_givens_dark_and_model_digits_blue():
    p = T.parse(ESCARGOT)
    img = np.asarray(T.render(digits(ESCARGOT_SOLUTION), p, cell_px=40)).astype(int)
    pad = 40 // 12

    def cell(r, c):
        return img[pad + r * 40 + 6:pad + r * 40 + 34, pad + c * 40 + 6:pad + c * 40 + 34].reshape(-1, 3)

    def blue(px):
        return ((px[:, 2] > 150) & (px[:, 0] < 100)).sum()

    def dark(px):
        return (px.max(1) < 60).sum()

    assert dark(cell(0, 0)) > 20 and blue(cell(0, 0)) == 0            # clue '1' at r1c1
    assert blue(cell(0, 1)) > 20 and dark(cell(0, 1)) == 0            # model's '6' at r1c2
    assert dark(np.asarray(T.render(digits(ESCARGOT), None)).reshape(-1, 3)) > 0
    assert [code for code, _, _ in T.legend()] == list(range(10))


def test_examples_load_with_unique_solutions():
    ex = T.examples()
    for name in ("AI Escargot", "Platinum Blonde", "Golden Nugget", "Easter Monster"):
        assert name in ex
    assert sum(n.startswith("Easy") for n in ex) == 2 and sum(n.startswith("Medium") for n in ex) == 2
    for name, p in ex.items():
        assert p.name == name and p.notes == [] and p.solution is not None
        assert_valid_full(p.solution)
        assert np.all((p.grid == 0) | (p.grid == p.solution))


def test_data_file_lines_comments_solutions_and_errors(tmp_path):
    text = f"# eval set\n\n{ESCARGOT}\n{ESCARGOT.replace('.', '0')},{ESCARGOT_SOLUTION}\n"
    puzzles = load_data_file(text)
    assert len(puzzles) == 2 and puzzles[0].solution is None
    assert np.array_equal(puzzles[1].solution, digits(ESCARGOT_SOLUTION))
    path = tmp_path / "test.csv"
    path.write_text(f"source,question,answer,rating\nforum,{ESCARGOT},{ESCARGOT_SOLUTION},142\n")
    (p,) = load_data_file(path)
    assert np.array_equal(p.grid, digits(ESCARGOT)) and p.name == "test.csv:2"
    assert len(load_data_file(str(path), limit=1)) == 1
    for bad, words in [(f"{ESCARGOT}\n\n{ESCARGOT[:-1]}\n", ["Line 3", "80 cells"]),
                       (f"{ESCARGOT}\n11{ESCARGOT[2:]}\n", ["Line 2", "Row 1 has two 1s"]),
                       (f"{ESCARGOT},{ESCARGOT_SOLUTION[::-1]}", ["Line 1", "solution"]),
                       ("# nothing\n", ["no puzzles"])]:
        with pytest.raises(PuzzleError) as e:
            load_data_file(bad)
        assert all(w in str(e.value) for w in words), str(e.value)


def test_random_full_grids_are_valid_distinct_and_seeded():
    grids = random_full_grids(200, seed=4)
    assert grids.shape == (200, 81) and grids.dtype == np.uint8
    for g in grids:
        assert_valid_full(g.reshape(9, 9))
    assert len({g.tobytes() for g in grids}) == 200
    assert (random_full_grids(200, seed=4) == grids).all() and not (random_full_grids(200, seed=5) == grids).all()


def test_blanked_full_grids_have_the_asked_blanks_and_a_unique_solution():
    solutions = random_full_grids(64, seed=5)
    puzzles, sols, rating = blank_out(solutions, seed=1, min_blanks=20, max_blanks=50)
    blanks = (puzzles == 0).sum(1)
    assert blanks.min() >= 15 and blanks.max() <= 50 and blanks.std() > 3   # spread over the range
    found, nsol, _ = solve_batch(puzzles)
    assert (nsol == 1).all() and (found == sols).all() and (sols == solutions).all()
    assert ((puzzles == 0) | (puzzles == sols)).all()                      # clues are the solution's digits
    again, _, _ = blank_out(solutions, seed=1, min_blanks=20, max_blanks=50)
    assert (again == puzzles).all()


def test_sudoku_text_with_an_extra_row_or_field_is_refused():
    """A pasted row of 10 values, or a grid of 10 rows, was read with a value or a row silently dropped."""
    rows = ["1,2,3,4,5,6,7,8,9"] * 9
    with pytest.raises(PuzzleError, match="CSV row 3 has 10 fields"):
        T.parse("\n".join(rows[:2] + ["1,2,3,4,5,6,7,8,9,1"] + rows[3:]))
    grid = T.to_text(T.examples()["Warm-up 2 (40 blanks)"].grid).splitlines()
    with pytest.raises(PuzzleError, match="10 rows"):
        T.parse("\n".join([grid[0]] + grid))


def test_an_answer_that_overwrites_a_clue_is_not_solved():
    """is_solved(grid, puzzle), the CLI tests' oracle, keeps the clues: a valid grid with 1s and 2s swapped is a
    Sudoku, not this puzzle's answer."""
    puzzle = T.examples()["Warm-up 2 (40 blanks)"]
    sol = T.solve(puzzle)
    relabelled = np.where(sol == 1, 2, np.where(sol == 2, 1, sol))
    assert not (puzzle.grid[puzzle.grid > 0] == relabelled[puzzle.grid > 0]).all()
    assert is_solved(relabelled) and not is_solved(relabelled, puzzle)

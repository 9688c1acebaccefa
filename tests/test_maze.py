"""Maze task: parsing every input format, clear errors, BFS, the generator, encoding, augmentation, images."""
from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from trm_viz.tasks import Puzzle, PuzzleError, get_task
from trm_viz.tasks import maze as M
from trm_viz.tasks.maze_generate import generate_batch, generate_maze

T = get_task("maze")
TINY = "#######\n#S  # #\n# # # #\n# #   #\n# ### #\n#   #G#\n#######"


def _codes(rows: list[str]) -> np.ndarray:
    return np.array([["# SGo".index(ch) for ch in row] for row in rows])


def _crop(grid: np.ndarray, h: int, w: int) -> np.ndarray:
    top, left = (30 - h) // 2, (30 - w) // 2
    return grid[top:top + h, left:left + w]


# --- parsing ----------------------------------------------------------------------------------------------------
def test_text_maze_is_padded_to_30x30_with_walls_and_a_note():
    p = T.parse(TINY)
    assert p.grid.shape == (30, 30) and p.solution is None
    assert (_crop(p.grid, 7, 7) == _codes(TINY.split("\n"))).all()
    assert (p.grid == M.WALL).sum() == 900 - (_codes(TINY.split("\n")) != M.WALL).sum()
    assert any("7x7" in n and "30x30" in n for n in p.notes)
    assert (p.givens == (p.grid != M.OPEN)).all()
    notes = T.validate(p)                     # parse's notes are kept, validation's added, each once
    assert notes == T.validate(p) == p.notes and any("7x7" in n for n in notes) and any("8 steps" in n for n in notes)


def test_dots_are_open_and_short_rows_are_padded_open_with_a_note():
    p = T.parse(TINY.replace(" ", "."))
    assert (p.grid == T.parse(TINY).grid).all()
    rows = ["#S  #", "### #", "G    "]
    q = T.parse("\n".join(row.rstrip() for row in rows))
    assert (_crop(q.grid, 3, 5) == _codes(rows)).all()
    assert any("shorter" in n for n in q.notes)


def test_drawn_path_makes_the_grid_a_solution_and_to_text_round_trips():
    p = T.parse(TINY)
    solved = T.solve(p)
    q = T.parse(T.to_text(solved))
    assert (q.grid == p.grid).all() and (q.solution == solved).all()
    assert [n for n in T.validate(q) if "trained" not in n] == []     # only the short-path note
    r = T.parse(TINY + "\n---\n" + T.to_text(_crop(solved, 7, 7)))
    assert (r.solution == solved).all() and (r.grid == p.grid).all()


def test_json_lists_and_arrays_are_accepted():
    codes = _codes(TINY.split("\n"))
    for data in (codes, codes.tolist(), str(codes.tolist()), '["' + '", "'.join(TINY.split("\n")) + '"]'):
        assert (T.parse(data).grid == T.parse(TINY).grid).all()


@pytest.mark.parametrize("text, words", [
    ("", ["empty"]),
    ("#S#\n#x#\n#G#", ["Row 2, column 2", "'x'"]),
    ("\n".join(["#" * 33] * 3), ["at most 30x30"]),
    ("#S  \n####\n   G\n---\n#S  \n####", ["solution is 2x4"]),
    ("#S\n#o\n---\n#S\n#o", ["only the solution may"]),
    ("[[0, 1], [1, 9]]", ["row 2, column 2", "0 to 4"]),
    ("[[0, 1], [1]]", ["Row 2", "1 cells"]),
    ("[[0, 1", ["not valid JSON"]),
])
def test_bad_text_gives_a_message_that_says_where(text, words):
    with pytest.raises(PuzzleError) as e:
        T.parse(text)
    assert all(w in str(e.value) for w in words), str(e.value)


@pytest.mark.parametrize("text, words", [
    ("#####\n#   #\n# G #\n#####", ["exactly one start", "has 0"]),
    ("#S G#\n#  G#", ["exactly one goal", "has 2", "row 15 col 16, row 16 col 16 of the 30x30"]),
    ("S#G", ["cannot be reached"]),
])
def test_validate_refuses_mazes_the_model_cannot_solve(text, words):
    with pytest.raises(PuzzleError) as e:
        T.validate(T.parse(text))
    assert all(w in str(e.value) for w in words), str(e.value)


def test_outer_wall_ring_of_a_32x32_maze_is_dropped():
    inner = np.full((30, 30), M.OPEN)
    inner[0, 0], inner[29, 29] = M.START, M.GOAL
    ringed = np.pad(inner, 1, constant_values=M.WALL)
    p = T.parse(T.to_text(ringed))
    assert (p.grid == inner).all() and any("dropped" in n for n in p.notes)
    with pytest.raises(PuzzleError, match="31x31"):
        T.parse(T.to_text(np.pad(inner, ((1, 0), (1, 0)), constant_values=M.OPEN)))
    # a wall on one side only, either side (the right / bottom one was kept unless the left / top went first)
    for pad in (((0, 1), (0, 0)), ((1, 0), (0, 0)), ((0, 0), (0, 1)), ((0, 0), (1, 0)), ((0, 2), (2, 0))):
        p = T.parse(T.to_text(np.pad(inner, pad, constant_values=M.WALL)))
        assert (p.grid == inner).all(), pad


def test_solution_that_is_not_shortest_or_changes_walls_is_reported():
    p = T.parse("S  \n # \n  G")
    assert any("2 different shortest paths" in n for n in T.validate(p))
    other_shortest = T.parse("S  \n # \n  G\n---\nSoo\n #o\n  G")
    assert not any("not a shortest path" in n for n in T.validate(other_shortest))
    with pytest.raises(PuzzleError, match="differs from the maze at row 2, column 2 ") as one_cell:
        T.parse("S  \n # \n  G\n---\nS  \n o \n  G")
    assert "'o' where the maze has '#'" in str(one_cell.value) and "other" not in str(one_cell.value)
    wrong = Puzzle("maze", grid=p.grid, solution=np.where(p.grid == M.WALL, M.PATH, p.grid))
    with pytest.raises(PuzzleError, match="differs from the maze at row 1, column 1 of the 30x30 canvas"):
        T.validate(wrong)
    broken = T.parse("S  \n # \n  G\n---\nS  \no# \n  G")
    assert any("not a shortest path" in n for n in T.validate(broken))


# --- shortest paths ---------------------------------------------------------------------------------------------
def _brute_force(grid: np.ndarray) -> tuple[int, int]:
    """Every simple path S->G by exhaustive search: (shortest length, how many have it)."""
    h, w = grid.shape
    (s,), (g,) = zip(*np.nonzero(grid == M.START)), zip(*np.nonzero(grid == M.GOAL))
    best, count = [10**9, 0], 0
    seen = {s}

    def walk(cell, steps):
        if cell == g:
            if steps < best[0]:
                best[:] = [steps, 1]
            elif steps == best[0]:
                best[1] += 1
            return
        for d in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            n = (cell[0] + d[0], cell[1] + d[1])
            if 0 <= n[0] < h and 0 <= n[1] < w and grid[n] != M.WALL and n not in seen:
                seen.add(n)
                walk(n, steps + 1)
                seen.discard(n)
    walk(s, 0)
    return (best[0], best[1]) if best[1] else (-1, count)


def test_bfs_length_path_and_path_count_match_brute_force_on_random_grids():
    rng = np.random.default_rng(1)
    checked = 0
    for _ in range(300):
        grid = np.where(rng.random((4, 5)) < 0.3, M.WALL, M.OPEN)
        cells = rng.choice(20, 2, replace=False)
        grid.flat[cells[0]], grid.flat[cells[1]] = M.START, M.GOAL
        solution, length, n_paths = M.shortest_paths(grid)
        want_length, want_count = _brute_force(grid)
        assert length == want_length
        if length < 0:
            assert solution is None
            continue
        checked += 1
        assert n_paths == want_count
        assert (solution == M.PATH).sum() == length - 1
        walk = np.where(solution == M.OPEN, M.WALL, solution)   # the marked path alone connects S to G
        assert M.shortest_paths(walk)[1] == length
    assert checked > 100


# --- generator --------------------------------------------------------------------------------------------------
def test_generated_mazes_are_hard_with_a_unique_shortest_path_and_loops():
    inputs, labels = generate_batch(120, seed=5, min_path=110)
    assert inputs.shape == labels.shape == (120, 30, 30)
    for x, y in zip(inputs, labels):
        solution, length, n_paths = M.shortest_paths(x.astype(np.int64))
        assert length >= 110 and n_paths == 1
        assert (solution == y).all()
        open_cells = x != M.WALL
        edges = (open_cells[1:] & open_cells[:-1]).sum() + (open_cells[:, 1:] & open_cells[:, :-1]).sum()
        assert edges > open_cells.sum() - 1 + 5          # a tree has cells-1 edges: extra walls were opened


def test_generator_is_deterministic_for_a_seed_whatever_the_threads():
    a = generate_batch(40, seed=11, workers=1)
    b = generate_batch(40, seed=11, workers=2)
    c = generate_batch(40, seed=12)
    assert all((u == v).all() for u, v in zip(a, b))
    assert (a[0] != c[0]).any()
    one, label, length = generate_maze(11, 7)
    assert (one == a[0][7]).all() and (label == a[1][7]).all() and length == (label == M.PATH).sum() + 1
    with pytest.raises(ValueError, match="min_path"):
        generate_batch(2, 0, min_path=1000)


def test_generate_gives_a_valid_puzzle_with_its_solution():
    p = T.generate(np.random.default_rng(3), min_path=150)
    assert T.validate(p) == [] and (T.solve(p) == M.shortest_paths(p.grid)[0]).all()
    assert (p.solution == M.PATH).sum() + 1 >= 150


# --- encoding and augmentation ----------------------------------------------------------------------------------
def test_encoding_is_the_official_charset_and_round_trips():
    p = T.parse(TINY)
    solved = T.solve(p)
    tokens = T.encode(solved)
    assert tokens.shape == (900,) and tokens.dtype == np.int64
    text = T.to_text(solved).replace("\n", "")
    assert tokens.tolist() == ["# SGo".index(ch) + 1 for ch in text]    # pad 0, "#"=1, " "=2, S=3, G=4, o=5
    assert (T.decode(tokens) == solved).all()
    assert (T.decode(np.zeros(900, dtype=np.int64)) == M.WALL).all()
    with pytest.raises(ValueError):
        T.decode(np.full(900, 6))


# --- pictures ---------------------------------------------------------------------------------------------------
def _png(img) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def test_rendered_maze_parses_back_from_png_jpeg_and_one_pixel_per_cell():
    p = T.generate(np.random.default_rng(8))
    img = T.render(p.solution)
    assert img.size == (480, 480)
    for data in (_png(img), img):
        q = T.parse(data)
        assert (q.grid == p.grid).all() and (q.solution == p.solution).all()
    buf = io.BytesIO()
    img.resize((370, 370)).save(buf, "JPEG", quality=70)            # a scaled, lossy screenshot
    assert (T.parse(buf.getvalue()).solution == p.solution).all()
    for fmt, options in (("TIFF", {}), ("WEBP", {"lossless": True})):      # other screenshot formats
        buf = io.BytesIO()
        img.save(buf, fmt, **options)
        assert (T.parse(buf.getvalue()).solution == p.solution).all(), fmt
    small = T.parse(TINY)
    assert (T.parse(_png(T.render(_crop(small.grid, 7, 7), cell_px=1))).grid == small.grid).all()
    # a phone photo stored sideways, with the turn that shows it upright in its EXIF data
    from PIL import Image

    sideways = img.transpose(Image.Transpose.ROTATE_90)             # stored turned left ...
    exif = sideways.getexif()
    exif[0x0112] = 6                                                 # ... shown turned right again
    buf = io.BytesIO()
    sideways.save(buf, "JPEG", quality=95, exif=exif.tobytes())
    assert (T.parse(buf.getvalue()).solution == p.solution).all()


def test_render_marks_colours_and_broken_fixed_cells():
    p = T.parse(TINY)
    answer = T.solve(p).copy()
    plain = np.asarray(T.render(answer, cell_px=10))
    for code in range(5):
        r, c = np.argwhere(answer == code)[0] * 10 + 5                # the middle of a cell of each kind
        assert tuple(plain[r, c]) == M._rgb(M.COLOURS[code])
    answer[0, 0] = M.OPEN                                            # the "model" removed a wall
    crossed = np.asarray(T.render(answer, puzzle=p, cell_px=10))
    assert (crossed[:10, :10] == (240, 18, 190)).all(axis=-1).any()
    assert {code for code, _, _ in T.legend()} == set(range(5))


def _png_header_only(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = lambda kind, data: (struct.pack(">I", len(data)) + kind + data
                                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("size", [(5000, 5000), (30000, 30000), (100, 100_000)])
def test_decompression_bombs_are_refused_before_decoding(size):
    with pytest.raises(PuzzleError, match="limit|too large"):
        T.parse(_png_header_only(*size))


def test_truncated_and_garbage_images_give_a_puzzle_error():
    data = _png(T.render(T.parse(TINY).grid))
    for bad in (data[: len(data) // 2], data[:40], b"\x89PNG\r\n\x1a\n" + b"\0" * 50, b"\xff\xd8\xff" + b"junk" * 9):
        with pytest.raises(PuzzleError) as refused:
            T.parse(bad)
        assert "BytesIO" not in str(refused.value)                   # (Pillow names its buffer object)
    from PIL import Image
    with pytest.raises(PuzzleError, match="No regular grid"):
        T.parse(Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8)))


# --- files and examples -----------------------------------------------------------------------------------------
def test_data_file_blocks_with_optional_solutions(tmp_path):
    solved = _crop(T.solve(T.parse(TINY)), 7, 7)
    text = TINY + "\n\n" + TINY + "\n---\n" + T.to_text(solved) + "\n\n\n"
    path = tmp_path / "mazes.txt"
    path.write_text(text)
    for source in (text, str(path), path):
        puzzles = M.load_data_file(source)
        assert len(puzzles) == 2 and puzzles[0].solution is None
        assert (puzzles[1].solution[11:18, 11:18] == solved).all()
    assert puzzles[1].name == "mazes #2"
    with pytest.raises(PuzzleError, match=r"Maze 2 \(line 9\).*exactly one start"):
        M.load_data_file(TINY + "\n\n" + TINY.replace("S", " "))
    # A label that is not a shortest path (a stray 'o' off the route) would make evaluation score right answers
    # as wrong: in a data file it is an error, not a note.
    stray = T.to_text(solved).split("\n")
    stray[5] = stray[5][:1] + "o" + stray[5][2:]                      # row 6 "#   #G#": an open cell off the path
    assert solved[5, 1] == M.OPEN
    with pytest.raises(PuzzleError, match=r"Maze 2 \(line 9\): The given solution is not a shortest path: it "
                                          r"marks 8 'o' cells, a shortest path of 8 steps has 7"):
        M.load_data_file(TINY + "\n\n" + TINY + "\n---\n" + "\n".join(stray))
    assert any("not a shortest path" in n for n in T.validate(T.parse(TINY + "\n---\n" + "\n".join(stray))))
    with pytest.raises(PuzzleError, match="no mazes"):
        M.load_data_file("\n \n")


def test_examples_are_valid_and_carry_shortest_path_solutions():
    examples = T.examples()
    assert len(examples) == 10
    for name, p in examples.items():
        T.validate(p)
        _, length, n_paths = M.shortest_paths(p.grid)
        assert (p.solution == M.PATH).sum() + 1 == length
        assert (n_paths > 1) == ("several" in name)
    assert any(M.shortest_paths(p.grid)[1] >= 110 for p in examples.values())


# --- smaller canvases (a maze model may read fewer than 30x30 tokens) ---------------------------------------------
def test_small_canvas_task_fits_pads_refuses_and_offers_the_examples_that_fit():
    small = get_task("maze", 144)
    assert small is M.maze_task(12) and (small.seq_len, small.canvas_shape) == (144, (12, 12))
    assert get_task("maze", 900) is T and get_task("maze") is T and get_task("sudoku", 144).seq_len == 81
    examples = small.examples()
    assert list(examples) == ["tiny", "small", "several shortest paths", "generated 12x12", "long path 12x12",
                              "generated 8x8", "long path 8x8"]
    assert list(M.maze_task(8).examples()) == ["tiny", "generated 8x8", "long path 8x8"]
    tiny = examples["tiny"]
    assert tiny.grid.shape == (12, 12) and (tiny.grid[:2] == M.WALL).all()      # 7x7, centred, walls around
    assert small.decode(small.encode(tiny.solution)).tolist() == tiny.solution.tolist()
    small.validate(tiny)            # 8 steps < 18: a note, not an error
    assert any("12x12 maze model is trained on mazes with paths of 18+ steps" in n for n in tiny.notes)
    with pytest.raises(PuzzleError, match="at most 12x12 is supported by this model"):
        small.parse(T.to_text(T.examples()["medium 21x21"].grid))
    with pytest.raises(PuzzleError, match="5x5 to 30x30"):
        M.MazeTask(4)


@pytest.mark.parametrize("size", [5, 9, 12, 17])
def test_generator_on_small_canvases_gives_unique_shortest_paths_of_the_scaled_length(size):
    from trm_viz.tasks.maze_generate import hard_min_path
    puzzles, labels = generate_batch(30, seed=3, size=size)
    task = M.maze_task(size)
    assert puzzles.shape == (30, size, size)
    for p, l in zip(puzzles, labels):
        solution, length, n_paths = M.shortest_paths(p.astype(np.int64))
        assert n_paths == 1 and length >= hard_min_path(size)
        assert solution.tolist() == l.tolist()
        task.validate(task.parse(p.astype(np.int64).tolist()))
    with pytest.raises(ValueError, match="size must be between 5 and 30"):
        generate_batch(1, 0, size=31)


# --- nothing but Puzzle or PuzzleError, whatever arrives ---------------------------------------------------------
_fast = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_fast
@given(st.text(alphabet="# SGo.\n-[]0123,x\r", max_size=400))
def test_any_text_gives_a_puzzle_or_a_puzzle_error(text):
    _parse_and_validate(text)


@_fast
@given(st.binary(max_size=300))
def test_any_bytes_give_a_puzzle_or_a_puzzle_error(data):
    _parse_and_validate(data)
    _parse_and_validate(b"\x89PNG\r\n\x1a\n" + data)


@_fast
@given(st.lists(st.lists(st.integers(-2, 6), min_size=1, max_size=8), min_size=1, max_size=8))
def test_any_list_of_lists_gives_a_puzzle_or_a_puzzle_error(rows):
    _parse_and_validate(rows)


@_fast
@given(st.text(alphabet="# SGo.\n-x\0", max_size=300))
def test_any_data_file_text_gives_puzzles_or_a_puzzle_error(text):
    try:
        assert all(isinstance(p, Puzzle) for p in M.load_data_file(text))
    except PuzzleError:
        pass


def _parse_and_validate(data) -> None:
    try:
        puzzle = T.parse(data)
        T.validate(puzzle)
    except PuzzleError:
        return
    assert isinstance(puzzle, Puzzle) and puzzle.grid.shape == (30, 30)

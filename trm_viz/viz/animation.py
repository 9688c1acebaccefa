"""The refinement as an animated GIF: one frame per supervision step, captioned "step k, q_halt p"."""
from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from ..tasks.base import Puzzle, Task
from ..trace import Trace
from .grids import step_image, with_caption


def frames(trace: Trace, task: Task, puzzle: Puzzle | None = None, cell_px: int | None = None) -> list[Image.Image]:
    """Captioned step images, all padded to one size (ARC answers may change shape between steps)."""
    out = []
    for k in range(1, trace.num_steps + 1):
        halted = " (halts)" if trace.halt_step == k else ""
        text = f"step {k}, q_halt {float(trace.q_halt_prob[k - 1]):.2f}{halted}"
        out.append(with_caption(step_image(trace, task, k, puzzle, cell_px), text))
    width, height = max(f.width for f in out), max(f.height for f in out)
    padded = []
    for f in out:
        canvas = Image.new("RGB", (width, height), (255, 255, 255))
        canvas.paste(f, ((width - f.width) // 2, 0))
        padded.append(canvas)
    return padded


def animation_gif(trace: Trace, task: Task, puzzle: Puzzle | None = None, path: str | Path | None = None,
                  frame_ms: int = 600, last_frame_ms: int = 1800, cell_px: int | None = None) -> bytes:
    """GIF bytes (also written to ``path`` when given). The last frame is held longer so the final answer reads."""
    pics = frames(trace, task, puzzle, cell_px)
    durations = [int(frame_ms)] * len(pics)
    durations[-1] = int(last_frame_ms)
    buf = io.BytesIO()
    # optimize=False: Pillow would otherwise be free to merge frames, and a frame per step is the contract.
    pics[0].save(buf, format="GIF", save_all=True, append_images=pics[1:], duration=durations, loop=0,
                 optimize=False, disposal=1)
    data = buf.getvalue()
    if path is not None:
        Path(path).write_bytes(data)
    return data

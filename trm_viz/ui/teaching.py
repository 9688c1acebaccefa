"""The words on the page: the header, the "How TRM works" panel and one plain-language caption per view.
Kept apart from the wiring so they can be read (and corrected) as text. Facts follow the paper and the official
code (see trm_viz/model/trm.py)."""
from .limits import HOSTED_GFLOP, HOSTED_VOTE_GFLOP

TITLE = "# Watch a Tiny Recursive Model think"

INTRO = (
    "A **Tiny Recursive Model** (TRM, Jolicoeur-Martineau 2025) is a tiny network (5-7 million parameters in the "
    "paper; a model loaded here may be smaller, as its model card says) that solves hard puzzles by improving its own answer "
    "again and again. Pick a puzzle, press **Run**, and scrub through the up to 16 rounds of refinement it goes "
    "through. The default Sudoku model solves the warm-up examples at its first step (on Easy 2 it stops "
    "a step too early); Medium 1, Hard 2 and the famous hard ones show it correcting itself over several steps."
)

HOW_TRM_WORKS = """
**Three things, one tiny network.**
- **x**, the *input embedding*: the puzzle's cells as vectors, preceded by extra positions (16 in the paper's
  models; 4 in this app's ARC models) that hold a learned *puzzle embedding* (one shared by every Sudoku or maze; for ARC one per task variant, which is how the model knows
  what the task asks).
- **y = z_H**, the *answer state*: one vector per cell; the output head reads the answer off it.
- **z = z_L**, the *reasoning latent*: a scratchpad of the same shape that is never read out directly.

**One supervision step** (the unit the viewer steps through) repeats *T* = H_cycles times:
1. update the scratchpad *n* = L_cycles times: `z_L = net(z_L, z_H + x)` (it sees the puzzle and the current answer);
2. update the answer once: `z_H = net(z_H, z_L)` (it sees the scratchpad and itself, not the puzzle).

The same small `net` does both updates: with the paper's Sudoku settings (2 layers, T = 3, n = 6) one step is
T x (n + 1) x 2 = 42 layers deep (30 with its maze and ARC settings, n = 4), from only 5-7 million weights (a
loaded model may be smaller and use other T and n; its model card lists them). After the step the output head turns z_H
into an answer, and a **halting head** turns z_H into **q_halt**, the model's estimate that this answer is already
fully right.

**Up to 16 supervision steps.** z_H and z_L are carried from one step into the next, so every step starts from
the previous answer and refines it. In training each step is scored on its own (deep supervision) and q_halt
learns to say when to stop; here all steps are run and the step where q_halt first passes 0.5 is marked.

**What you can change at inference:** the number of steps, H_cycles (T) and L_cycles (n). Each model starts at the
depth its model card recommends (sudoku-tiny learned at T=2 and runs deeper: the same weights solve more when they think
longer); fewer cycles show what happens when it thinks less. Only z_H and z_L pass from one step to the next, so
one step at T=6 computes exactly what two steps at T=3 do: a larger T is a longer run that shows fewer of its
answers (the shipped paper-size Sudoku model's 16 steps at T=6 solve as many hard puzzles as its 32 steps at T=3
would).
"""

CAPTIONS = {
    "viewer": (
        "The model's answer after each supervision step. **Bold**: given. **Amber outline**: changed at this step. "
        "**Red corner**: wrong; **green corner**: right and just changed. **Faded or striped**: the model is unsure. "
        "A maze's path is blue. The viewer opens at the step where the model would stop; press play to watch the "
        "whole run from step 1, or drag the slider. The menu colours cells by how much z_H or z_L moved instead, or "
        "by how often each cell changed over the whole run (where the model keeps flipping), or by the chance it gives "
        "each cell's right value (yellow: knows it; dark: sure of a wrong one), or shows the known "
        "solution (red corners where this step's answer differs). Tap a cell to see its value at every step."),
    "halting": (
        "**q_halt** (violet): the model's own estimate that its current answer is fully right; above the dashed 0.5 "
        "line it would stop (the circled step). **Green**: share of the cells to solve that are right, when the "
        "answer is known: a Sudoku's blanks, a maze's path, the cells an ARC rule changes, and any other cell the "
        "answer has wrong. "
        "**Blue dotted**: mean confidence of the chosen values. **Faded dashes**: your last run of the same puzzle "
        "with another model or depth (Run settings), to compare when each gets it right and stops (another H_cycles "
        "alone: drawn at equal compute, where the two runs meet)."),
    "latents": (
        "Top: how far each cell's **z_H** (answer state) and **z_L** (scratchpad) moved during the selected step; "
        "dark = still, yellow = moved most, on one scale for the whole run. Bottom: each cell's latent projected on "
        "three directions (the ones along which its cells differ most at step 1, kept for the whole run) and shown "
        "as red, green, blue: cells with similar colours hold similar vectors."),
    "inner": (
        "Top, the whole run: a row per step (the selected one framed), a column per inner update; left, the share "
        "of the cells to solve that the update's read-out has right (%), right, how far it moved its latent: where "
        "within a step the answer gets better or worse, and whether z_L settles. Below, inside the selected step, "
        "left to right, one H cycle per row (short ones share a row): after each scratchpad update (L1.1, "
        "L1.2 ... = cycle 1, updates 1, 2 ...) and each answer update (H1, H2 ...), the output head reads that "
        "latent as a grid. Outlines: cells that differ from the panel before (the first panel is compared with the "
        "previous step's answer). The % is how far that update moved its latent, relative to the latent's own size "
        "(over 100%: it moved more than its own length). A z_L that settles moves less and less; one that moves "
        "~100% every time while its decode stays put is flipping between two states (sudoku-tiny's does). Only the "
        "H panels are answers: the model never reads z_L out, so the L panels are a peek into the scratchpad (for "
        "ARC not even of the answer's shape). The enlarge button shows the strip full size."),
    "corrections": (
        "Every cell the model changed. **correction**: wrong before, right now; **regression**: right before, wrong "
        "now; **change**: still wrong. The model revising its answer (steps 2 on) comes first; step 1's changes, "
        "compared with the puzzle as given (a Sudoku's blanks filled; an ARC answer of another size is all new), "
        "are listed last. Rows and columns count from 1. Click a row to see that cell in the viewer."),
    "vote": (
        "The puzzle run again through variants that keep its meaning, answers mapped back and ranked by votes. "
        "**ARC**: the task's augmented variants (rotated or mirrored, colours swapped), each with its own learned "
        "puzzle embedding: the official evaluation, whose top two answers are its pass@2. **Sudoku, maze**: the "
        "symmetries training used (relabelled digits, shuffled bands; rotations, mirror images), one embedding: "
        "test-time augmentation, not in the paper. Wrong answers seldom agree with each other, so a vote can be right "
        "where most copies are wrong. The step viewer shows the identity variant only. "
        "**Green frame**: the known solution; **red**: not it. The vote follows the viewer's step."),
    "history": (
        "How the model Run uses was trained, from the model card and log beside its weights. **Violet**: training loss. "
        "**Green dotted**: share of cells right on the training batches (puzzles it was learning from). **Green "
        "dots**: share of held-out puzzles (never trained on) solved after all steps, measured at the end of each "
        "training run (grey: an earlier held-out set, when a run changed the data); **blue diamonds**: with the "
        "symmetry vote. **Grey strip below**: the learning rate (log scale), cut or annealed run by run. A model "
        "still in training solves none yet."),
    "settings": (
        f"T and n go up to 16, within {HOSTED_GFLOP:,} GFLOP of arithmetic per run on this shared host (a vote's "
        f"copies together: {HOSTED_VOTE_GFLOP:,}): the small shipped models can think that deep, the paper-size ones "
        "stay near their own settings (Run and Vote say what fits). The command line has no such bound."),
    "export": (
        "An animated GIF of the refinement and the full trace as JSON (the same format the `trace` API returns)."),
    "checkpoint": (
        "Upload `config.json` + `model.safetensors` (this app's format) or an official TinyRecursiveModels "
        "`step_N` file with its `all_config.yaml` (add `identifiers.json` for ARC task names). Add `card.json` and "
        "`metrics.jsonl` from a trm_viz training run to see its training history. Files are read as tensors and "
        "JSON only: nothing in them can run code."),
}

API_HELP = (
    "Programmatic use: `gradio_client.Client(url).predict(task, puzzle, steps, H_cycles, L_cycles, arc_task_id, "
    "api_name=\"/trace\")` returns the trace JSON (0 = the model's default for steps and cycles); the same "
    "arguments and a number of variants, with `api_name=\"/vote\"`, return the variant vote.")

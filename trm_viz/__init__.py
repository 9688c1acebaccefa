"""trm_viz: watch a Tiny Recursive Model think (task domains, TRM engine, trace, visualisation, app, training)."""
import os

# On a CPU shared with other work, OpenMP threads that spin while waiting make a trace ~10x slower; passive waiting
# keeps it near full speed. Takes effect only if torch is imported after trm_viz (app.py, the CLI, tests do so).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

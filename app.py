"""The web app: `python app.py` serves it on http://0.0.0.0:7860 (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT change
that) with the checkpoints in checkpoints/<task>/ (TRM_VIZ_CHECKPOINTS points elsewhere). Everything else lives in
trm_viz/ui/."""
import os

# On a CPU shared with other work, torch's OpenMP threads spin while they wait and a trace can run ~10x slower;
# passive waiting keeps it near full speed. Must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from trm_viz.ui.app_layout import build_app, launch_kwargs  # noqa: E402

demo = build_app()

if __name__ == "__main__":
    demo.launch(**launch_kwargs())

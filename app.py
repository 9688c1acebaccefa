"""The web app: `python app.py` serves it on http://0.0.0.0:7860 (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT change
that) with the checkpoints in checkpoints/<task>/ (TRM_VIZ_CHECKPOINTS points elsewhere). Everything else lives in
trm_viz/ui/."""
from trm_viz.ui.app_layout import build_app, launch_kwargs  # trm_viz sets OMP_WAIT_POLICY before torch loads

demo = build_app()

if __name__ == "__main__":
    demo.launch(**launch_kwargs())

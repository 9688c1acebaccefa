"""Training: per-task configs, cached datasets with on-device augmentation, the deep-supervision loop, evaluation,
budgeted resumable runs with a model card, and a step benchmark. Entry points: ``python -m trm_viz.train`` and
``python -m trm_viz.train.bench``; ``evaluate`` is shared with ``python -m trm_viz eval``."""
from .config import TrainConfig, build_configs
from .evaluate import evaluate

__all__ = ["TrainConfig", "build_configs", "evaluate"]

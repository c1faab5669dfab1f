"""Fine-tuning on Ray Train: tokenisation with assistant-only labels, the worker loop, the trainer."""

from codemix.train.trainer import TrainingDiverged, fine_tune

__all__ = ["TrainingDiverged", "fine_tune"]

"""Fine-tuning on Ray Train: tokenisation with assistant-only labels, the worker loop, the trainer."""

from codemix.train.heldout import conversation_losses
from codemix.train.trainer import TRAIN_VERSION, TrainingDiverged, TrainRun, fine_tune, trains_in_process

__all__ = ["TRAIN_VERSION", "TrainRun", "TrainingDiverged", "conversation_losses", "fine_tune", "trains_in_process"]

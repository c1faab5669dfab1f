"""Fine-tuning on Ray Train: tokenisation with assistant-only labels, the worker loop, the trainer."""

from codemix.train.trainer import TRAIN_VERSION, TrainingDiverged, TrainRun, fine_tune, trains_in_process

__all__ = ["TRAIN_VERSION", "TrainRun", "TrainingDiverged", "fine_tune", "trains_in_process"]

"""Fine-tuning on Ray Train: tokenisation with assistant-only labels, the worker loop, the trainer.

    tokenize.py     conversations -> (input_ids, labels), the loss on assistant tokens only; packing
    trainer.py      one run: TrainRun, fine_tune (a Ray Train worker group or the trial's process), publishing
                    the HF-loadable folder; trains_in_process (what the plan and the driver ask)
    loop.py         the worker loop: seeded batches, schedule, held-out loss, checkpoints, resume
    session.py      where the loop runs: RayTrainSession (a worker group) or InProcessSession (the trial's process)
    step_engine.py  a step's mechanics, checkpoint and export: plain PyTorch (DDP) or DeepSpeed ZeRO
    deepspeed.py    the ZeRO stage a run resolves to, and its configuration
    qlora.py        the 4-bit NF4 base of QLoRA
    flops.py        FLOPs per token and MFU
    heldout.py      a model's loss on fixed held-out conversations (imported from there: it loads torch)

The plan and the CLI import ``trainer.py`` and never train: the loop and everything it loads (torch, transformers,
Ray Train) load where a run starts.
"""

from codemix.train.trainer import TRAIN_VERSION, TrainingDiverged, TrainRun, fine_tune, trains_in_process

__all__ = ["TRAIN_VERSION", "TrainRun", "TrainingDiverged", "fine_tune", "trains_in_process"]

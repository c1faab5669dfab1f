"""The Arrow schemas of codemix's result tables, and where each table lives.

Three levels, each a Parquet dataset under the experiment folder, one file per trial (written
atomically as the trial finishes, so the dataset is appendable and never half-written)::

    <storage>/<sweep>/results/trials/<trial_key>.parquet        one row per trial
    <storage>/<sweep>/results/scores/<trial_key>.parquet        one row per trial x task
    <storage>/<sweep>/results/predictions/<trial_key>.parquet   one row per trial x example
    <storage>/<sweep>/results.parquet                           all scores, written when the sweep ends

Every row carries the provenance columns below, so a score links to the exact data mix
(``mix_hash``), training run (``train_hash``) and evaluation (``eval_hash``) that produced it.
Read them with anything that reads Parquet, e.g. DuckDB:
``SELECT * FROM 'runs/*/results/scores/*.parquet'``.
"""

from __future__ import annotations

import pyarrow as pa

# Columns shared by all three levels: which trial, which point of the sweep, which stage outputs.
PROVENANCE_FIELDS = [
    pa.field("sweep", pa.string(), nullable=False),
    # content hash of (sweep dims, stage configs): stable across resumes
    pa.field("trial_key", pa.string(), nullable=False),
    pa.field("trial_id", pa.string()),  # Ray Tune's id, for cross-reference with Tune's logs
    pa.field("family", pa.string(), nullable=False),
    pa.field("model_id", pa.string()),  # Hugging Face id or path the fine-tune started from
    pa.field("proportion", pa.float64()),  # share of coding examples in the IFT mix; null: the untuned model
    pa.field("train_method", pa.string()),  # "full", "lora" or "none" (the starting model, evaluated untuned)
    pa.field("seed", pa.int64(), nullable=False),
    pa.field("code_language", pa.string()),
    pa.field("corruption", pa.float64()),
    # share of the full run's training steps (a successive-halving rung below 1; null in tables before it existed)
    pa.field("fidelity", pa.float64()),
    # the anchor proportions whose fine-tunes were interpolated in weight space to make this model (a surrogate of
    # search.searcher 'surrogate'); null: a model trained on its own mix (or the untuned one)
    pa.field("anchors", pa.list_(pa.float64())),
    pa.field("mix_hash", pa.string()),
    pa.field("train_hash", pa.string()),
    pa.field("eval_hash", pa.string()),
    pa.field("eval_backend", pa.string()),  # the generation backend that ran ("vllm", "hf", "openai"; never "auto")
    pa.field("eval_dtype", pa.string()),  # "bf16" or "fp32" as eval.dtype resolved ("endpoint" for openai)
    pa.field("codemix_version", pa.string()),
]

SCORES_SCHEMA = pa.schema(PROVENANCE_FIELDS + [
    pa.field("task", pa.string(), nullable=False),
    pa.field("domain", pa.string(), nullable=False),  # symbolic / logical / arithmetic
    pa.field("accuracy", pa.float64()),
    pa.field("n", pa.int64()),
    pa.field("n_correct", pa.int64()),
    pa.field("finished_at", pa.timestamp("s", tz="UTC")),
])

PREDICTIONS_SCHEMA = pa.schema(PROVENANCE_FIELDS + [
    pa.field("task", pa.string(), nullable=False),
    pa.field("domain", pa.string(), nullable=False),
    pa.field("example_id", pa.string(), nullable=False),
    pa.field("prompt", pa.string()),
    pa.field("output", pa.string()),
    pa.field("choices", pa.list_(pa.string())),  # the options shown (option tasks), so the output can be re-scored
    pa.field("extracted", pa.string()),
    pa.field("gold", pa.string()),
    pa.field("correct", pa.bool_()),
    pa.field("extractor", pa.string()),
])

TRIALS_SCHEMA = pa.schema(PROVENANCE_FIELDS + [
    pa.field("status", pa.string(), nullable=False),  # "ok" or "error"
    pa.field("error", pa.string()),
    pa.field("overall_accuracy", pa.float64()),  # mean of task accuracies
    pa.field("train_loss", pa.float64()),  # final training loss
    pa.field("heldout_loss_before", pa.float64()),  # loss on conversations of the mix held out of training,
    pa.field("heldout_loss_after", pa.float64()),  # before the first and after the last step (train.heldout)
    pa.field("train_tokens_per_s", pa.float64()),  # steady rate, all workers (first 5 steps of a worker left out)
    pa.field("train_mfu", pa.float64()),  # model FLOPs utilisation on GPU (null on CPU)
    pa.field("train_seconds", pa.float64()),
    pa.field("eval_seconds", pa.float64()),
    pa.field("stages", pa.string()),  # JSON: {"mix": "computed"|"cached", "train": ..., "eval": ...}
    pa.field("timings", pa.string()),  # JSON: seconds of this attempt: its stages (mix, train, eval), the compute
    # in them (train_steps, generate) and the whole trial (trial)
    pa.field("config", pa.string()),  # JSON of the full resolved trial config (secrets never included)
    pa.field("started_at", pa.timestamp("s", tz="UTC")),
    pa.field("finished_at", pa.timestamp("s", tz="UTC")),
])

LEVELS = {"trials": TRIALS_SCHEMA, "scores": SCORES_SCHEMA, "predictions": PREDICTIONS_SCHEMA}

"""Evaluate one checkpoint on a task suite: prompts → generation (here or on Ray Data) → extraction → scores."""

from __future__ import annotations

import json
import time
from collections import defaultdict

from codemix.config import EvalConfig, ModelConfig
from codemix.eval.backends import generate_here, ray_data_stage, resolve_backend
from codemix.eval.extractors import Extractor
from codemix.eval.phases import clear_phases, phase, recorded_phases
from codemix.eval.prompts import TWO_STAGE, answer_trigger, build_messages, prompt_version
from codemix.eval.scoring import make_extractor, score_many
from codemix.eval.tasks import Example, get_task, resolve_suite


def build_prompts(eval_cfg: EvalConfig) -> list[dict]:
    """One row per (task, example): the chat messages to send, plus what scoring needs."""
    rows = []
    for name in resolve_suite(eval_cfg.suite):
        task = get_task(name)
        examples = task.load(eval_cfg.data_dir, eval_cfg.limit, eval_cfg.seed, eval_cfg.generated_size)
        shots = (task.shots(eval_cfg.num_shots, eval_cfg.seed, data_dir=eval_cfg.data_dir)
                 if eval_cfg.prompt == "few_shot" else [])
        for ex in examples:
            rows.append({"task": name, "domain": task.domain, "example_id": ex.id, "gold": ex.gold,
                         "choices": json.dumps(list(ex.choices) if ex.choices else None),
                         "messages": json.dumps(build_messages(task, ex, eval_cfg.prompt, shots)),
                         "answer_trigger": answer_trigger(task, ex) if eval_cfg.prompt == TWO_STAGE else ""})
    return rows


def generate(rows: list[dict], model_path: str, eval_cfg: EvalConfig, model_cfg: ModelConfig,
             threads: int | None = None, in_process: bool = False) -> list[dict]:
    """Run the configured backend over the rows, in this process (``in_process``) or as a Ray Data stage;
    returns rows with ``output`` added."""
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]["messages"]))  # similar lengths share a batch
    ordered = [{**rows[i], "row": i} for i in order]
    backend = resolve_backend(eval_cfg, model_path)
    if in_process:
        out = generate_here(ordered, backend, model_path, eval_cfg, model_cfg, threads)
    else:
        import ray.data  # only this path uses Ray Data

        out = ray_data_stage(ray.data.from_items(ordered), backend, model_path, eval_cfg, model_cfg,
                             threads).take_all()
    return sorted(out, key=lambda r: r["row"])


def score(rows: list[dict], extractor: Extractor) -> tuple[list[dict], list[dict]]:
    """Extract answers and compute per-task accuracy. Returns (predictions, scores).

    Each prediction keeps the example's options (``choices``), so it can be scored again
    exactly as here (``codemix eval agreement``).
    """
    items = []
    for r in rows:
        choices = json.loads(r["choices"])
        items.append((get_task(r["task"]), Example(id=r["example_id"], question="", gold=r["gold"],
                                                   choices=tuple(choices) if choices else None), r["output"]))
    predictions, by_task = [], defaultdict(list)
    for r, (_, ex, _), scored in zip(rows, items, score_many(items, extractor)):
        predictions.append({"task": r["task"], "domain": r["domain"], "example_id": r["example_id"],
                            "prompt": r.get("prompt") or r["messages"], "output": r["output"],
                            "choices": list(ex.choices) if ex.choices else None, "extracted": scored.extracted,
                            "gold": r["gold"], "correct": scored.correct, "extractor": scored.by})
        by_task[(r["task"], r["domain"])].append(scored.correct)
    scores = [{"task": t, "domain": d, "n": len(c), "n_correct": sum(c), "accuracy": sum(c) / len(c)}
              for (t, d), c in sorted(by_task.items())]
    return predictions, scores


def evaluate(model_path: str, eval_cfg: EvalConfig, model_cfg: ModelConfig, threads: int | None = None,
             extractor: Extractor | None = None, in_process: bool = False) -> tuple[list[dict], list[dict], dict]:
    """Evaluate a checkpoint folder or model source. Returns (predictions, scores, timing and sources).

    ``extractor`` reads the answers (default: the one ``eval_cfg`` configures); ``in_process``: generate in
    this process, on the engine it holds (see ``generate``).
    """
    t0 = time.perf_counter()
    clear_phases()
    rows = build_prompts(eval_cfg)
    generated = generate(rows, model_path, eval_cfg, model_cfg, threads, in_process)
    t1 = time.perf_counter()
    with phase("score"):
        predictions, scores = score(generated, extractor or make_extractor(eval_cfg))
    sources = {name: get_task(name).data_source(eval_cfg.data_dir) for name in resolve_suite(eval_cfg.suite)}
    new_tokens = sum(int(r.get("new_tokens") or 0) for r in generated)  # backends that count them (hf)
    seconds = max(t1 - t0, 1e-9)
    return predictions, scores, {"generate_seconds": t1 - t0, "prompts": len(rows),
                                 "prompts_per_s": len(rows) / seconds,
                                 "new_tokens": new_tokens, "new_tokens_per_s": new_tokens / seconds,
                                 "prompt_version": prompt_version(eval_cfg.prompt), "data_source": sources,
                                 "phases": recorded_phases()}

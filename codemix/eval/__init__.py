"""The evaluation stage: reasoning tasks, prompts, generation on Ray Data, answer extraction, scoring.

    predictions, scores, info = evaluate(model_path, spec.eval, spec.model)   # prompts -> outputs -> scores
    rows = build_prompts(spec.eval)                                           # what would be asked (planning)
    extract_answer("number", "... so the answer is 18.")                       # the answer rules -> "18"
    score_many([(task, example, output)], make_extractor(spec.eval))           # rules, llm or cascade

Tasks are registered declarations (``codemix.eval.tasks``); the answer rules are pure functions
(``extract``); extractors are objects handed to scoring (``extractors``, ``llm_extract``, ``scoring``).
"""

from codemix.eval.backends import resolve_backend, runs_in_process
from codemix.eval.backends.hf import resolve_dtype_name
from codemix.eval.engines import release_engine
from codemix.eval.extract import EXTRACT_VERSION, OPTION_LETTERS, extract_answer, is_correct, normalise_gold
from codemix.eval.extractors import CascadeExtractor, Extraction, Extractor, RulesExtractor
from codemix.eval.generation_settings import generation_identity
from codemix.eval.llm_extract import LLMExtractor
from codemix.eval.prompts import PROMPT_VERSION, build_messages, prompt_version
from codemix.eval.runner import build_prompts, evaluate, generate, score
from codemix.eval.scoring import Scored, make_extractor, score_many, score_output
from codemix.eval.tasks import (
    SUITES,
    Example,
    Task,
    TaskDataError,
    eval_inputs_identity,
    get_task,
    list_tasks,
    resolve_suite,
)

__all__ = [
    "EXTRACT_VERSION", "OPTION_LETTERS", "PROMPT_VERSION", "SUITES", "CascadeExtractor", "Example", "Extraction",
    "Extractor", "LLMExtractor", "RulesExtractor", "Scored", "Task", "TaskDataError", "build_messages",
    "build_prompts", "eval_inputs_identity", "evaluate", "extract_answer", "generate", "generation_identity",
    "get_task", "is_correct", "list_tasks", "make_extractor", "normalise_gold", "prompt_version", "release_engine",
    "resolve_backend", "resolve_dtype_name", "resolve_suite", "runs_in_process", "score", "score_many", "score_output",
]

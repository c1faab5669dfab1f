"""Evaluation tasks: one registered declaration each (see ``base.Task``), grouped in suites.

    from codemix.eval.tasks import get_task, resolve_suite
    for name in resolve_suite("paper12"):
        examples = get_task(name).load(data_dir=None, limit=50, seed=0)   # offline twin

Adding a task = adding a module with one ``register_task(Task(...))`` and importing it below
(or importing it yourself before use: registration happens at import).
"""

from codemix.eval.tasks import arithmetic, babi, clutrr, date, symbolic  # noqa: F401,E402  (registers the tasks)
from codemix.eval.tasks.base import (
    ANSWER_TYPES,
    DOMAINS,
    SUITES,
    TASKS,
    Example,
    Task,
    TaskDataError,
    eval_inputs_identity,
    get_task,
    list_tasks,
    register_suite,
    register_task,
    resolve_suite,
)

register_suite("paper12", [
    "first_letter_concat", "last_letter_concat", "reverse_list", "coin_flip",  # symbolic
    "clutrr", "babi15_deduction", "babi16_induction", "date_understanding",  # logical
    "gsm8k", "svamp", "multiarith", "aqua",  # arithmetic
])
register_suite("smoke3", ["coin_flip", "babi15_deduction", "multiarith"])  # one cheap generated task per domain
register_suite("symbolic", [n for n in SUITES["paper12"][:4]])
register_suite("logical", [n for n in SUITES["paper12"][4:8]])
register_suite("arithmetic", [n for n in SUITES["paper12"][8:]])

__all__ = ["ANSWER_TYPES", "DOMAINS", "SUITES", "TASKS", "Example", "Task", "TaskDataError", "eval_inputs_identity",
           "get_task", "list_tasks", "register_suite", "register_task", "resolve_suite"]

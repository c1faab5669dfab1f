"""Answer extraction: read the answer a model output states, as a chain of small named steps per answer type.

    extract_answer("number", "... so the answer is 18.")       # -> "18", by CHAINS["number"]
    CHAINS["yes_no"].steps                                     # the declared steps, in order
    run(("unbox", "first_sentence"), Reading("yes_no", text))  # any steps, on their own

- ``normalise``: normalised answers and their comparison (``is_correct``);
- ``statements``: where an output ends, its answer statements and answer triggers, the closing run;
- ``candidates``: the possible answers of each type that a text names;
- ``steps``: the registered steps (output, statement and fallback steps) and ``run``;
- ``chains``: the chains, declared per answer type as lists of step names, and ``extract_answer``.

Pure functions, no I/O, no state.
"""

from codemix.eval.extract.candidates import (
    Candidate,
    list_candidates,
    number_candidates,
    option_candidates,
    string_candidates,
    word_candidates,
    yes_no_candidates,
)
from codemix.eval.extract.chains import (
    CHAINS,
    EXTRACT_VERSION,
    STATED,
    UNSTATED,
    Chain,
    declare,
    extract_answer,
    get_chain,
    read_statement,
)
from codemix.eval.extract.normalise import (
    ANSWER_TYPES,
    OPTION_LETTERS,
    is_correct,
    normalise_gold,
    normalise_list,
    normalise_number,
)
from codemix.eval.extract.statements import (
    Statement,
    answer_statements,
    closing_run,
    cut_next_turn,
    final_stage,
    find_statements,
    is_degenerate,
)
from codemix.eval.extract.steps import STEPS, Reading, run, step

__all__ = [
    "ANSWER_TYPES", "CHAINS", "EXTRACT_VERSION", "OPTION_LETTERS", "STATED", "STEPS", "UNSTATED", "Candidate", "Chain",
    "Reading", "Statement", "answer_statements", "closing_run", "cut_next_turn", "declare", "extract_answer",
    "final_stage", "find_statements", "get_chain", "is_correct", "is_degenerate", "list_candidates",
    "normalise_gold", "normalise_list", "normalise_number", "number_candidates", "option_candidates",
    "read_statement", "run", "step", "string_candidates", "word_candidates", "yes_no_candidates",
]

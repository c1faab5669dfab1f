"""Answer extraction as steps: each registered step on its own, and the chains declared from them."""

from __future__ import annotations

import pytest

from codemix.eval import extract
from codemix.eval.extract import (
    ANSWER_TYPES,
    CHAINS,
    STATED,
    STEPS,
    UNSTATED,
    Candidate,
    Reading,
    Statement,
    declare,
    extract_answer,
    find_statements,
    run,
)
from codemix.eval.extract import chains as chains_module


def step(name: str, text: str, answer_type: str = "number", choices=None, **state) -> Reading:
    """One step applied to a fresh Reading."""
    return STEPS[name](Reading(answer_type, text, tuple(choices) if choices else None, **state))


# ---------------------------------------------------------------------------- chains


def test_every_answer_type_has_a_chain_of_registered_steps():
    assert set(ANSWER_TYPES) <= set(CHAINS)
    for chain in CHAINS.values():
        assert chain.steps[:len(STATED) + len(UNSTATED)] == (*STATED, *UNSTATED)
        assert all(s in STEPS for s in (*chain.steps, *chain.statement))
        assert chain.statement[-1] == "take_first"  # a statement always ends decided
    assert CHAINS["number"].steps[-2:] == ("drop_enumerations", "last_number")
    assert "result_after_equals" in CHAINS["number"].statement and "unbox" not in CHAINS["number"].statement
    assert "known_option" in CHAINS["option"].statement


def test_a_chain_is_declared_by_step_names(monkeypatch):
    monkeypatch.setattr(chains_module, "CHAINS", dict(CHAINS))
    declare("coin_no_fallback", statement=("unbox", "first_sentence", "yes_no_candidates", "take_first"), fallback=(),
            answer_type="yes_no")
    assert extract_answer("coin_no_fallback", "The answer is yes or no.") == "yes"  # no hedge check declared
    assert extract_answer("coin_no_fallback", "It lands heads up.") is None  # no fallback declared
    assert extract_answer("yes_no", "It lands heads up.") == "yes"
    with pytest.raises(ValueError, match="no step named nonsense"):
        declare("bad", statement=("nonsense",), fallback=())
    with pytest.raises(ValueError, match="answer type"):
        declare("bad", statement=(), fallback=(), answer_type="essay")
    with pytest.raises(ValueError, match="answer type 'essay'"):
        extract_answer("essay", "text")


def test_run_stops_at_the_first_step_that_decides_and_ends_undecided_as_no_answer():
    r = run(("not_empty", "cut_next_turn"), Reading("number", "   "))
    assert r.done and r.answer is None
    r = run(("cut_next_turn", "take_first", "number_candidates"), Reading("number", "12 and 13"))
    assert r.done and r.answer is None and r.found == []  # take_first decided before candidates were found
    r = run(("drop_enumerations",), Reading("number", "Step 1"))
    assert not r.done and r.answer is None


def test_a_statement_reads_as_its_result_not_its_arithmetic():
    assert extract.read_statement("number", "30 - 6 = 14 hours.") == "14"


# ---------------------------------------------------------------------------- output steps


def test_not_empty_and_cut_next_turn():
    assert step("not_empty", "").done and step("not_empty", "\n ").done and not step("not_empty", "x").done
    assert step("cut_next_turn", "The answer is 12.\n\nQuestion: Tom has 3.").text == "The answer is 12."
    assert step("cut_next_turn", "Q: a question at the very start").text == "Q: a question at the very start"


def test_find_statements_marks_placeholders_triggers_and_skips_talk_about_answers():
    r = step("find_statements", 'So (B).\nThe answer is "X".\nTherefore, the answer (Yes or No) is No.')
    assert [(s.text, s.trigger) for s in r.statements] == [("", False), ("No.", True)]
    among = find_statements("Therefore, among A through E, the answer is (C).")
    assert [(s.text, s.trigger) for s in among] == [("(C).", True)]
    assert [s.trigger for s in find_statements("The answer (in words) is eight. So the answer (A) is it.")] == [
        False, False]  # not Kojima's trigger: a model's own restatement, a letter in brackets
    assert step("find_statements", "This answer is right. No answer is given. The answer is").statements == []
    assert [s.text for s in find_statements("A is the correct answer.\n\\boxed{7}")] == ["A", "\\boxed{7}"]


def test_final_stage_keeps_the_last_real_triggers_statement_alone():
    yes = Statement("yes, it is tails up.", 0, 40)
    trig = Statement("No.", 20, 40, trigger=True)
    later = Statement("no", 50, 60)
    assert step("final_stage", "", statements=[yes, trig, later]).statements == [trig]
    assert step("final_stage", "", statements=[yes, later]).statements == [yes, later]  # no trigger: all
    placeholder = Statement("", 20, 40, trigger=True)
    assert step("final_stage", "", statements=[yes, placeholder]).statements == [yes, placeholder]


def test_closing_run_keeps_back_to_back_statements_and_marks_the_output_stated():
    body = "The answer is 4.\nThen 4 * 3 = 12.\nThe answer is 12.\n\nSo, the answer is 12."
    r = step("closing_run", body, statements=find_statements(body))
    assert r.stated and [s.text for s in r.statements] == ["12.", "12."]
    placeholders = step("closing_run", "The answer is N.", statements=find_statements("The answer is N."))
    assert placeholders.stated and placeholders.statements == []
    assert not step("closing_run", "no cue", statements=[]).stated


def test_read_statements_uses_the_chains_statement_steps():
    sts = [Statement("(B) 5.", 0, 6), Statement("F.", 7, 9)]
    r = step("read_statements", "", "option", ("4", "5"), statements=sts, statement_steps=CHAINS["option"].statement)
    assert r.answers == ["B", None]


@pytest.mark.parametrize("answers, stated, want", [
    (["12", "12.0"], True, "12.0"),  # the last, when the others agree with it
    (["yes", "no"], True, None),  # left open between two
    ([None, "7"], True, "7"),  # a statement without an answer does not contradict
    ([], True, None),  # only copied placeholders
])
def test_agree_decides_a_stated_output(answers, stated, want):
    r = step("agree", "", answers=answers, stated=stated)
    assert r.done and r.answer == want


def test_agree_leaves_an_unstated_output_to_the_fallback_and_not_degenerate_stops_a_loop():
    assert not step("agree", "", stated=False).done
    loop = "The coin is flipped again, so it is heads up.\n" * 5
    assert step("not_degenerate", loop).done and not step("not_degenerate", "It is heads up.").done
    assert step("not_degenerate", "x" * 201 + " and then").done  # cut off mid-sentence


# ---------------------------------------------------------------------------- statement steps


def test_unbox_first_sentence_and_result_after_equals():
    assert step("unbox", "\\boxed{\\text{yes}}").text == "yes"
    assert step("first_sentence", "3.5 cups. Then 4.").text == "3.5 cups. "
    assert step("first_sentence", "\\boxed{1. 2}. More.").text == "\\boxed{1. 2}. More."  # a box is whole
    assert step("first_sentence", "9 Later").text == "9 Later"
    assert step("result_after_equals", "30 - 6 = 14 hours.").text == " 14 hours."


@pytest.mark.parametrize("name, kind, text, choices, values", [
    ("number_candidates", "number", "twelve or 1,200", None, ["12", "1200"]),
    ("option_candidates", "option", "C: or 5", ("4", "5", "6"), ["C", "B"]),
    ("yes_no_candidates", "yes_no", "yes, tails up", None, ["yes", "no"]),
    ("string_candidates", "string", 'is "y a j o".', None, ["yajo"]),
    ("list_candidates", "list", "water, light bulb and brush.", None, ["water, light bulb, brush"]),
    ("word_candidates", "word", "mice and wolves", ("mouse", "wolf"), ["mouse", "wolf"]),
])
def test_candidate_steps(name, kind, text, choices, values):
    assert [c.value for c in step(name, text, kind, choices).found] == values


def test_known_option_no_hedge_and_take_first():
    assert step("known_option", "", "option", found=[Candidate("?", 0, 1)]).done
    assert not step("known_option", "", "option", found=[Candidate("A", 0, 1)]).done
    a, c = Candidate("A", 0, 1), Candidate("C", 5, 6)
    assert step("no_hedge", "A or C", "option", found=[a, c]).done
    assert not step("no_hedge", "A, so C", "option", found=[a, c]).done
    assert not step("no_hedge", "A and C", "option", found=[Candidate("A", 0, 1), Candidate("C", 6, 7)]).done
    assert step("one_option", "A and C", "option", found=[Candidate("A", 0, 1), Candidate("C", 6, 7)]).done
    assert not step("one_option", "A, so C", "option", found=[a, c]).done
    assert step("take_first", "", found=[a, c]).answer == "A"
    first = step("take_first", "")
    assert first.done and first.answer is None


# ---------------------------------------------------------------------------- fallback steps


def test_number_fallback_steps():
    assert step("drop_enumerations", "Step 3: add 4").text == "      : add 4"
    assert step("last_number", "So 5 + 7 = 12. They had three days.").answer == "3"
    assert step("last_number", "Three cats ate 2 fish each.").answer == "2"  # digits beat words in a sentence
    assert not step("last_number", "No numbers here.").done


def test_yes_no_and_option_fallback_steps():
    assert step("drop_questions", "Is it heads up? It is.").text == "  It is."
    assert step("last_yes_no", "Heads up, then tails up.").answer == "no"
    assert step("last_marked_option", "(A) fails, option B works, C wins", "option", ("1", "2", "3")).answer == "B"
    assert not step("last_marked_option", "(F) of them", "option", ("cat", "dog", "cow")).done


def test_string_list_and_word_fallback_steps():
    assert step("last_quoted_word", "'ab' then 'yajc' and '3x'").answer == "yajc"
    assert step("last_result_word", "y + a + j + c = yajc\nDone").answer == "yajc"
    assert not step("last_result_word", "nothing to conclude here!").done
    assert step("last_quoted_list", 'First "a, b" then "c, d"').answer == "c, d"
    assert step("last_comma_line", "x, y, z\nList: c, b, a\nend").answer == "c, b, a"
    assert step("last_vocabulary_word", "sheep fear wolves", "word", ("wolf", "sheep")).answer == "wolf"
    assert not step("last_vocabulary_word", "sheep fear wolves", "word").done  # no vocabulary: nothing to find


def test_a_run_of_names_as_the_statement_reads_as_written_quoted_or_not():
    """A letter-string answer given as the names themselves (a wrong answer) reads the same whether quoted or
    not, not as the first name only (hand-judged demo outputs, 2026-12-04)."""
    from codemix.eval.extract import extract_answer

    plain = extract_answer("string", "Ryan Luis Beverly Aaron\nTherefore, the answer is Ryan Luis Beverly Aaron.", None)
    quoted = extract_answer("string", 'Therefore, the answer is "Ryan Luis Beverly Aaron".', None)
    assert plain == quoted == "RyanLuisBeverlyAaron"
    assert extract_answer("string", "Therefore, the answer is Nsyn.", None) == "Nsyn"

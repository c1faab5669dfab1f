"""Templated word problems for the arithmetic generators. Each template returns (question, steps)
where steps are ``(a, op, b, result)`` in order and the last result is the answer."""

from __future__ import annotations

import random

from codemix.eval.extract import OPTION_LETTERS
from codemix.eval.tasks.words import FEMALE_NAMES, MALE_NAMES

ITEMS = ["apples", "marbles", "stickers", "cookies", "pencils", "books", "cards", "balloons", "shells", "toys"]
Step = tuple[int, str, int, int]


def _name(rng: random.Random) -> tuple[str, str]:
    return (rng.choice(FEMALE_NAMES), "she") if rng.random() < 0.5 else (rng.choice(MALE_NAMES), "he")


# ---------------------------------------------------------------------------- MultiArith: two steps


def ma_gain_loss(rng):
    n, p = _name(rng)
    item, a, b = rng.choice(ITEMS), rng.randint(5, 60), rng.randint(2, 40)
    c = rng.randint(1, a + b - 1)
    return (f"{n} had {a} {item}. Then {p} bought {b} more {item} and gave {c} to a friend. "
            f"How many {item} does {n} have now?"), [(a, "+", b, a + b), (a + b, "-", c, a + b - c)]


def ma_shelves(rng):
    item, per, shelves, sold = rng.choice(ITEMS), rng.randint(2, 9), rng.randint(2, 9), rng.randint(1, 40)
    total = per * shelves + sold
    return (f"A store had {total} {item}. It sold {sold} of them and put the rest on shelves with {per} on each "
            f"shelf. How many shelves did it use?"), [(total, "-", sold, total - sold),
                                                       (total - sold, "/", per, shelves)]


def ma_boxes(rng):
    n, p = _name(rng)
    boxes, each = rng.randint(2, 9), rng.randint(3, 12)
    eaten = rng.randint(1, boxes * each - 1)
    return (f"{n} bought {boxes} boxes of chocolates. Each box had {each} pieces. If {p} ate {eaten} pieces, "
            f"how many pieces are left?"), [(boxes, "*", each, boxes * each), (boxes * each, "-", eaten,
                                                                                boxes * each - eaten)]


def ma_lawns(rng):
    n, p = _name(rng)
    rate, total = rng.randint(3, 15), rng.randint(5, 20)
    missed = rng.randint(1, total - 1)
    return (f"{n} was paid {rate} dollars for each lawn {p} mowed. {n} had {total} lawns to mow, but forgot to "
            f"mow {missed} of them. How many dollars did {n} actually earn?"), [
        (total, "-", missed, total - missed), (total - missed, "*", rate, (total - missed) * rate)]


def ma_groups(rng):
    a, b, size = rng.randint(5, 40), rng.randint(5, 40), rng.randint(2, 9)
    extra = (-(a + b)) % size
    b += extra
    return (f"For a field trip, {a} boys and {b} girls signed up. If they are split into groups of {size}, "
            f"how many groups will there be?"), [(a, "+", b, a + b), (a + b, "/", size, (a + b) // size)]


MULTIARITH_TEMPLATES = [ma_gain_loss, ma_shelves, ma_boxes, ma_lawns, ma_groups]


# ---------------------------------------------------------------------------- GSM8K stand-ins: 3-4 steps


def gsm_eggs(rng):
    n, p = _name(rng)
    eat, bake = rng.randint(1, 5), rng.randint(2, 6)
    lay, price = eat + bake + rng.randint(3, 20), rng.randint(2, 5)
    left = lay - eat - bake
    return (f"{n}'s hens lay {lay} eggs per day. {n} eats {eat} for breakfast every morning and bakes muffins with "
            f"{bake} every day. {p.capitalize()} sells the rest at the market for ${price} per egg. How many dollars "
            f"does {n} make every day at the market?"), [(lay, "-", eat, lay - eat), (lay - eat, "-", bake, left),
                                                          (left, "*", price, left * price)]


def gsm_change(rng):
    n, p = _name(rng)
    a, b, c, d = rng.randint(2, 6), rng.randint(2, 9), rng.randint(2, 8), rng.randint(1, 4)
    spent = a * b + c * d
    bill = next(x for x in (20, 50, 100, 200) if x > spent)
    return (f"{n} buys {a} notebooks that cost ${b} each and {c} pens that cost ${d} each. {p.capitalize()} pays "
            f"with a ${bill} bill. How much change does {n} get, in dollars?"), [
        (a, "*", b, a * b), (c, "*", d, c * d), (a * b, "+", c * d, spent), (bill, "-", spent, bill - spent)]


def gsm_trip(rng):
    a, b, c, d = rng.randint(30, 80), rng.randint(2, 5), rng.randint(20, 60), rng.randint(1, 4)
    return (f"A train travels at {a} miles per hour for {b} hours, then slows down to {c} miles per hour for "
            f"another {d} hours. How many miles does it travel in total?"), [
        (a, "*", b, a * b), (c, "*", d, c * d), (a * b, "+", c * d, a * b + c * d)]


def gsm_savings(rng):
    n, p = _name(rng)
    weekly, weeks = rng.randint(5, 30), rng.randrange(2, 13, 2)
    saved = weekly * weeks
    helmet = rng.randint(1, saved // 2 - 1)
    return (f"{n} saves ${weekly} every week. After {weeks} weeks, {p} spends half of the savings on a bike and "
            f"then ${helmet} on a helmet. How many dollars does {n} have left?"), [
        (weekly, "*", weeks, saved), (saved, "/", 2, saved // 2), (saved // 2, "-", helmet, saved // 2 - helmet)]


def gsm_discount(rng):
    n, p = _name(rng)
    price, off, count = rng.randrange(20, 201, 20), rng.choice([10, 20, 25, 50]), rng.randint(2, 6)
    cut = price * off // 100
    return (f"A jacket costs ${price}. This week it is on sale for {off}% off. {n} buys {count} jackets for "
            f"{p == 'she' and 'her' or 'his'} family. How many dollars does {n} pay?"), [
        (price, "*", off, price * off), (price * off, "/", 100, cut), (price, "-", cut, price - cut),
        (price - cut, "*", count, (price - cut) * count)]


GSM8K_TEMPLATES = [gsm_eggs, gsm_change, gsm_trip, gsm_savings, gsm_discount]


# ---------------------------------------------------------------------------- SVAMP stand-ins: one step, varied


def sv_start(rng):
    n, p = _name(rng)
    item, gave, left = rng.choice(ITEMS), rng.randint(2, 50), rng.randint(2, 50)
    return (f"{n} had some {item}. {p.capitalize()} gave {gave} {item} to a friend. Now {p} has {left} {item} "
            f"left. How many {item} did {n} have at the start?"), [(gave, "+", left, gave + left)]


def sv_more(rng):
    (n, _), (m, _) = _name(rng), _name(rng)
    item, a, b = rng.choice(ITEMS), rng.randint(3, 80), rng.randint(2, 40)
    return (f"{n} has {a} {item}. {m} has {b} more {item} than {n}. How many {item} does {m} have?"), [
        (a, "+", b, a + b)]


def sv_share(rng):
    item, boxes, each = rng.choice(ITEMS), rng.randint(2, 12), rng.randint(2, 15)
    return (f"There are {boxes * each} {item} in {boxes} boxes, with the same number in each box. How many {item} "
            f"are in each box?"), [(boxes * each, "/", boxes, each)]


def sv_irrelevant(rng):
    n, p = _name(rng)
    item, other = rng.sample(ITEMS, 2)
    a, b, c = rng.randint(10, 90), rng.randint(2, 9), rng.randint(3, 40)
    b = min(b, a - 1)
    return (f"{n} had {a} {item} and {c} {other}. {p.capitalize()} lost {b} {item}. How many {item} does {n} have "
            f"now?"), [(a, "-", b, a - b)]


def sv_compare(rng):
    n, _ = _name(rng)
    a, b = rng.randint(10, 60), rng.randint(1, 9)
    return (f"{n} ate {a + b} cakes and {a} pies at a fair. How many more cakes than pies did {n} eat?"), [
        (a + b, "-", a, b)]


SVAMP_TEMPLATES = [sv_start, sv_more, sv_share, sv_irrelevant, sv_compare]


# ---------------------------------------------------------------------------- AQuA stand-ins: five options


def aq_speed(rng):
    v = rng.randrange(36, 145, 18)
    t = rng.randint(5, 20)
    length = v * t * 5 // 18
    return (f"A train {length} metres long passes a pole in {t} seconds. What is its speed in km/hr?",
            [(length, "*", 18, length * 18), (length * 18, "/", t * 5, v)])


def aq_interest(rng):
    principal, rate, years = rng.randrange(500, 5001, 100), rng.randint(2, 12), rng.randint(2, 6)
    return (f"What is the simple interest on Rs. {principal} at {rate}% per annum for {years} years?",
            [(principal, "*", rate, principal * rate), (principal * rate, "*", years, principal * rate * years),
             (principal * rate * years, "/", 100, principal * rate * years // 100)]) \
        if principal * rate * years % 100 == 0 else aq_interest(rng)


def aq_linear(rng):
    a, x, b = rng.randint(2, 9), rng.randint(-10, 20), rng.randint(1, 30)
    c = a * x + b
    return (f"If {a}x + {b} = {c}, what is the value of x?", [(c, "-", b, c - b), (c - b, "/", a, x)])


def aq_average(rng):
    n, m = rng.randint(4, 10), rng.randint(10, 50)
    rest = rng.randint(10, 50)
    x = n * m - (n - 1) * rest
    return (f"The average of {n} numbers is {m}. If the number {x} is removed, what is the average of the "
            f"remaining numbers?", [(n, "*", m, n * m), (n * m, "-", x, n * m - x),
                                    (n * m - x, "/", n - 1, rest)])


def aqua_problem(rng: random.Random) -> tuple[str, list[Step], list[str], str]:
    """A stand-in AQuA item: (question, steps, ["A)..", ..], gold letter)."""
    question, steps = rng.choice([aq_speed, aq_interest, aq_linear, aq_average])(rng)
    answer = steps[-1][3]
    wrong = {answer + d for d in (-10, -5, -3, -2, -1, 1, 2, 3, 5, 10)} | {answer * 2, -answer}
    options = [answer] + rng.sample(sorted(wrong - {answer}), 4)
    rng.shuffle(options)
    letters = OPTION_LETTERS[:len(options)]
    return question, steps, [f"{x}){o}" for x, o in zip(letters, options)], letters[options.index(answer)]

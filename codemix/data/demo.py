"""A generated, labelled ShareGPT-format corpus for running the pipeline with no network.

Records look like real ShareGPT dumps (``{"id", "conversations": [{"from", "value"}]}``) plus the
gold ``label`` (coding / math / other) and, for coding, the programming ``language``. Coding
conversations ask for one of ~50 parameterised tasks in six languages and get fenced code;
math ones are word problems (two-step, percentages, rates, sharing, change, areas, averages)
with correct worked answers ending "The answer is N."; the rest are explanations, writing,
advice, comparisons and word questions. Phrasings, names, numbers and follow-ups vary, so a
2000-record corpus is almost free of exact duplicates. One to three exchanges. Deterministic
for a seed. Only coding answers contain a code fence and only math answers "The answer is".
"""

from __future__ import annotations

import random

from codemix.data.demo_code import FENCE, LANGUAGES, PRETTY, code_task

GENERATOR_VERSION = "demo-v2"

_NAMES = ["Alice", "Bob", "Carmen", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jamal", "Kofi", "Lena",
          "Marta", "Nikhil", "Olga", "Pablo", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Victor", "Wen", "Yara"]
_ITEMS = ["apples", "books", "marbles", "pencils", "stickers", "cookies", "shells", "cards", "coins", "flowers",
          "stamps", "buttons", "candles", "oranges", "toy cars", "postcards", "beads", "seeds"]


def _pick(rng: random.Random, seq):
    return seq[rng.randrange(len(seq))]


def _step(rng: random.Random) -> str:
    return _pick(rng, ["Let's think step by step.", "Let's work it out step by step.", "Step by step:",
                       "Let's solve this carefully.", "We can do this in steps."])


# ----------------------------------------------------------------------------- coding

_ASKS = ["How do I {task} in {lang}?", "Write {lang} code to {task}.", "Can you show me how to {task} using {lang}?",
         "I need a {lang} snippet that can {task}.", "What's the cleanest way to {task} in {lang}?",
         "In {lang}, how would you {task}?", "Help me {task} with {lang}, I'm still a beginner.",
         "Quick {lang} question: how can I {task}?", "Could you write {lang} that will {task}?"]
_INTROS = ["Here is one way to {task} in {lang}:", "Sure! This {lang} snippet will {task}:",
           "You can {task} like this:", "A compact {lang} solution:", "Here's a {lang} version you can adapt:"]
_OUTROS = ["It is short and easy to adapt.", "Change the names and values to fit your data.",
           "It uses only the standard tools of the language.", "Run it and check the output against a small example.",
           "Let me know if you need it to handle edge cases."]
_CODE_FOLLOWUPS = [
    ("Can you explain how it works?", "Sure. The snippet does one thing at a time: it reads its input, applies the "
     "{lang} construct that does the real work, and prints or returns the result. Each line maps to one step of the "
     "task, so you can change a step without touching the others."),
    ("I get an error when I run it.", "Check the input you pass in first. A common cause is a wrong type or a "
     "missing file; print the value right before the failing line to see what it holds."),
    ("What is the time complexity?", "It makes a single pass over its input, so it runs in linear time, and it only "
     "keeps what it needs, which keeps the memory small."),
    ("How would I test this?", "Start with a tiny hand-made input whose result you know, then an empty input, then "
     "a large one. In {lang} projects, put those cases in the test suite so they run on every change."),
    ("Is there a shorter way?", "It is already close to minimal. You could inline a variable or two, but the "
     "current form is easier to read and to debug, which matters more."),
]


def _coding(rng: random.Random) -> tuple[list[tuple[str, str]], str]:
    language = _pick(rng, LANGUAGES)
    lang = PRETTY[language]
    task, code = code_task(rng, language)
    ask = _pick(rng, _ASKS).format(task=task, lang=lang)
    ask = ask[0].upper() + ask[1:]
    answer = (f"{_pick(rng, _INTROS).format(task=task, lang=lang)}\n\n```{FENCE[language]}\n{code}\n```\n\n"
              f"{_pick(rng, _OUTROS)}")
    turns = [(ask, answer)]
    for q, a in rng.sample(_CODE_FOLLOWUPS, k=_pick(rng, [0, 0, 1, 1, 2])):
        turns.append((q, a.format(lang=lang)))
    return turns, language


# ----------------------------------------------------------------------------- math
# Each template returns (question, worked answer, result); answers end "The answer is N."


def _m_buy_multiply(rng, name, item):
    a, b, c = rng.randint(3, 60), rng.randint(2, 30), rng.randint(2, 9)
    return (f"{name} has {a} {item} and buys {b} more. Then {name} ends up with {c} times as many in total. "
            f"How many {item} does {name} have now?",
            f"First, {a} + {b} = {a + b}. Then {a + b} * {c} = {(a + b) * c}.", (a + b) * c)


def _m_discount(rng, name, item):
    price, pct = 20 * rng.randint(1, 25), _pick(rng, [5, 10, 15, 20, 25, 30, 40, 50, 60, 75])
    off = price * pct // 100
    return (f"A box of {item} costs ${price}. The shop gives {pct}% off. How much does {name} pay for it?",
            f"The discount is {price} * {pct} / 100 = {off} dollars. So {name} pays {price} - {off} = {price - off} "
            f"dollars.", price - off)


def _m_increase(rng, name, item):
    base, pct = 10 * rng.randint(2, 60), _pick(rng, [10, 20, 30, 40, 50, 70, 100])
    inc = base * pct // 100
    return (f"{name}'s collection of {item} grew by {pct} percent from {base}. How many {item} are there now?",
            f"The increase is {base} * {pct} / 100 = {inc}. The new total is {base} + {inc} = {base + inc}.", base + inc)


def _m_speed(rng, name, _item):
    s1, h1, s2, h2 = rng.randint(3, 90), rng.randint(1, 6), rng.randint(3, 90), rng.randint(1, 6)
    vehicle = _pick(rng, ["bike", "car", "boat", "train", "scooter"])
    return (f"{name} rides a {vehicle} at {s1} km per hour for {h1} hours, then at {s2} km per hour for {h2} hours. "
            f"How many kilometres does {name} travel in total?",
            f"The first part is {s1} * {h1} = {s1 * h1} km. The second part is {s2} * {h2} = {s2 * h2} km. "
            f"Together {s1 * h1} + {s2 * h2} = {s1 * h1 + s2 * h2} km.", s1 * h1 + s2 * h2)


def _m_rate(rng, name, _item):
    per_day, days = rng.randint(5, 60), rng.randint(2, 30)
    total = per_day * days
    thing = _pick(rng, [("reads", "pages", "a book of"), ("knits", "rows", "a scarf of"),
                        ("writes", "lines", "a story of"), ("paints", "tiles", "a wall of")])
    return (f"{name} {thing[0]} {per_day} {thing[1]} every day. How many days does {name} need to finish "
            f"{thing[2]} {total} {thing[1]}?",
            f"We divide the total by the daily amount: {total} / {per_day} = {days}.", days)


def _m_share(rng, name, item):
    friends, each, kept = rng.randint(2, 9), rng.randint(2, 20), rng.randint(1, 15)
    total = friends * each + kept
    return (f"{name} has {total} {item}, keeps {kept} and shares the rest equally among {friends} friends. "
            f"How many {item} does each friend get?",
            f"First, {total} - {kept} = {total - kept} {item} to share. Then {total - kept} / {friends} = {each}.", each)


def _m_change(rng, name, item):
    n, price = rng.randint(2, 12), rng.randint(1, 15)
    cost = n * price
    bill = _pick(rng, [b for b in (20, 50, 100, 200) if b >= cost])
    return (f"{name} buys {n} packs of {item} at ${price} each and pays with a ${bill} bill. "
            f"How much change does {name} get?",
            f"The cost is {n} * {price} = {cost} dollars. The change is {bill} - {cost} = {bill - cost} dollars.",
            bill - cost)


def _m_area(rng, name, _item):
    length, width = rng.randint(3, 40), rng.randint(2, 30)
    place = _pick(rng, ["garden", "room", "patio", "field", "poster", "rug"])
    if rng.random() < 0.5:
        return (f"{name}'s {place} is a rectangle {length} m long and {width} m wide. What is its area in square "
                f"metres?", f"Area is length times width: {length} * {width} = {length * width}.", length * width)
    p = 2 * (length + width)
    return (f"{name} wants to put a border around a rectangular {place} that is {length} m by {width} m. "
            f"How many metres of border are needed?",
            f"The perimeter is 2 * ({length} + {width}). First {length} + {width} = {length + width}, then "
            f"2 * {length + width} = {p}.", p)


def _m_average(rng, name, _item):
    n = rng.randint(3, 5)
    mean = rng.randint(50, 80)
    scores = [mean + rng.randint(-5, 5) for _ in range(n - 1)]
    scores.append(mean * n - sum(scores))  # the last score makes the mean an integer
    total = sum(scores)
    listed = ", ".join(map(str, scores))
    return (f"{name} scored {listed} on {n} quizzes. What is the average score?",
            f"The sum is {' + '.join(map(str, scores))} = {total}. The average is {total} / {n} = {mean}.", mean)


def _m_ages(rng, name, _item):
    age, k, years = rng.randint(3, 15), rng.randint(2, 4), rng.randint(2, 10)
    other = _pick(rng, ["mother", "father", "aunt", "uncle", "cousin"])
    return (f"{name} is {age} years old and {name}'s {other} is {k} times as old. How old will the {other} be "
            f"in {years} years?",
            f"The {other} is {age} * {k} = {age * k} now. In {years} years: {age * k} + {years} = {age * k + years}.",
            age * k + years)


_MATH = [_m_buy_multiply, _m_discount, _m_increase, _m_speed, _m_rate, _m_share, _m_change, _m_area, _m_average,
         _m_ages]


def _math(rng: random.Random) -> list[tuple[str, str]]:
    name, item = _pick(rng, _NAMES), _pick(rng, _ITEMS)
    question, work, result = _pick(rng, _MATH)(rng, name, item)
    if rng.random() < 0.3:
        question = _pick(rng, ["Solve this: ", "Word problem: ", "Can you help with my homework? ", "Quick one: "]) + question
    turns = [(question, f"{_step(rng)} {work} The answer is {result}.")]
    if rng.random() < 0.35:
        d = rng.randint(1, max(1, result - 1))
        turns.append((_pick(rng, [f"And if {d} of them are lost?", f"What if we take away {d}?",
                                  f"Now subtract {d} from that."]),
                      f"{result} - {d} = {result - d}. The answer is {result - d}."))
    if rng.random() < 0.15:
        k = rng.randint(2, 5)
        turns.append((f"And {k} times the original result?", f"{result} * {k} = {result * k}. The answer is {result * k}."))
    return turns


# ----------------------------------------------------------------------------- other

_TOPICS = [
    ("the water cycle", "Water evaporates from oceans, condenses into clouds and falls back as rain or snow."),
    ("photosynthesis", "Plants turn light, water and carbon dioxide into sugar and release oxygen."),
    ("the French Revolution", "It began in 1789 and ended the absolute monarchy in France."),
    ("black holes", "They are regions where gravity is so strong that not even light escapes."),
    ("compound interest", "Interest is added to the principal, so later interest grows on earlier interest."),
    ("the Roman Empire", "It ruled the Mediterranean for centuries and split into east and west in 395."),
    ("volcanoes", "Molten rock rises through cracks in the crust and erupts as lava and ash."),
    ("sleep hygiene", "Keep a regular schedule, a dark room and avoid screens before bed."),
    ("plate tectonics", "The crust is broken into plates that drift slowly and meet at faults and ridges."),
    ("the immune system", "White blood cells find and destroy germs, and antibodies remember old invaders."),
    ("inflation", "When prices rise across the economy, each unit of money buys less than before."),
    ("the printing press", "Movable type made books cheap, spreading literacy and new ideas across Europe."),
    ("tides", "The pull of the Moon and the Sun raises the sea on the sides of the Earth facing and opposite them."),
    ("vaccines", "They train the immune system with a harmless piece or copy of a germ before a real infection."),
    ("the Renaissance", "It was a revival of art, science and classical learning that began in Italy."),
    ("climate change", "Greenhouse gases trap extra heat, warming the planet and shifting weather patterns."),
    ("supply and demand", "Prices rise when buyers want more than sellers offer and fall in the opposite case."),
    ("the Silk Road", "It was a web of trade routes linking China with Persia, Arabia and the Mediterranean."),
    ("migratory birds", "Many birds fly thousands of kilometres each season, guided by the sun, stars and landmarks."),
    ("coral reefs", "Tiny animals build limestone skeletons that grow into reefs full of marine life."),
    ("the theory of evolution", "Living things change over generations as helpful traits are passed on more often."),
    ("democracy", "Citizens choose their leaders in elections and can replace them peacefully."),
    ("the human heart", "It is a muscle with four chambers that pumps blood through the lungs and the body."),
    ("rainbows", "Sunlight bends and reflects inside raindrops, splitting into its colours."),
    ("jazz", "It grew from blues and ragtime in New Orleans and prizes improvisation and swing."),
    ("the Great Wall of China", "It is a series of walls built over centuries to guard northern borders."),
    ("glaciers", "Snow compacts into ice that flows slowly downhill, carving valleys as it moves."),
    ("bees and pollination", "Bees carry pollen between flowers, which lets many plants make fruit and seeds."),
    ("the Industrial Revolution", "Machines and steam power moved work from homes into factories."),
    ("meditation", "It trains attention, often by focusing calmly on the breath for a few minutes."),
]
_EXPLAIN = ["Can you explain {t}?", "Tell me about {t}.", "What is {t}?", "I never understood {t}. Help?",
            "Give me a quick overview of {t}.", "Why does {t} matter?", "Describe {t} for me."]
_AUDIENCE = [("", ""), (" Keep it simple.", "In simple words: "), (" I'm explaining it to a child.", "For a child: "),
             (" Be brief.", "Briefly: "), (" I have an exam tomorrow.", "For your exam: "),
             (" Use an everyday comparison.", "Think of something familiar. ")]
_EXPLAIN_TAIL = ["In short, {t} is worth understanding because it shapes everyday life.",
                 "That is the core idea of {t}; the details build on it.", "Most of what you will read about {t} "
                 "starts from this point.", "Once this clicks, the rest of {t} is much easier to follow."]
_MORE = [("Give me one more detail.", "Here is another point about {t}: researchers still study it, and new "
          "findings appear every year."),
         ("Interesting, tell me more.", "{t} also links to {o}: {name} likes to point out how the two meet in "
          "surprising ways."),
         ("Any common misconception?", "A common one is that {t} is settled and simple. The basics are, but the "
          "details are still debated."),
         ("Where can I learn more?", "A good encyclopedia article on {t} is a fine start, then a popular science or "
          "history book from your library.")]

_FORMS = ["a short poem", "a haiku", "a two-sentence story", "a polite email", "a thank-you note", "a short speech",
          "a product description", "a limerick", "a birthday message", "a motivational quote", "a diary entry",
          "a short letter"]
_VERSE = {"a short poem", "a haiku", "a limerick", "a motivational quote", "a two-sentence story"}
_SUBJECTS = ["autumn", "the sea", "a rainy morning", "city lights", "an old bicycle", "a lost umbrella", "friendship",
             "the first snow", "a quiet library", "a mountain hike", "a cup of tea", "moving to a new town",
             "a lighthouse", "a summer market", "the night sky", "a stray cat", "a garden in spring",
             "a long train ride", "grandmother's kitchen", "a school reunion"]
_TONES = ["", " Make it cheerful.", " Make it a little sad.", " Keep it formal.", " Make it funny.",
          " Use simple words."]
_IMAGES = {"light": ["soft", "golden", "pale", "warm", "silver"], "time": ["morning", "evening", "afternoon", "dusk"],
           "feel": ["calm", "bright", "gentle", "restless", "hopeful"]}

_GOALS = [
    ("improve my sleep", ["go to bed at the same time every night", "keep the bedroom cool and dark",
                          "stop caffeine after lunch", "put the phone away an hour before bed",
                          "get daylight in the morning"]),
    ("learn a new language", ["practise a little every day", "talk with native speakers early",
                              "learn the most frequent words first", "watch shows with subtitles",
                              "keep a notebook of useful phrases"]),
    ("prepare for a job interview", ["research the company", "practise answers out loud",
                                     "prepare two questions to ask", "plan the route and arrive early",
                                     "bring examples of your work"]),
    ("keep houseplants alive", ["check the soil before watering", "match each plant to the light it likes",
                                "use pots with drainage holes", "dust the leaves now and then",
                                "repot when the roots crowd the pot"]),
    ("save on groceries", ["plan meals for the week", "shop with a list", "buy seasonal produce",
                           "cook in batches and freeze portions", "compare unit prices"]),
    ("start running", ["begin with walk and run intervals", "buy comfortable shoes", "run slowly enough to talk",
                       "rest between runs", "increase the distance gradually"]),
    ("be more productive", ["write down the three most important tasks", "work in focused blocks",
                            "turn off notifications", "take short breaks", "review the day each evening"]),
    ("make new friends in a new city", ["join a club or class", "volunteer locally", "say yes to invitations",
                                        "talk to neighbours", "follow up after meeting someone"]),
    ("reduce stress", ["take a walk outside", "breathe slowly for a minute", "talk to someone you trust",
                       "limit news and social media", "keep a regular routine"]),
    ("get better at public speaking", ["know your opening by heart", "rehearse in front of a friend",
                                       "slow down and pause", "focus on a few friendly faces",
                                       "record yourself and watch it"]),
    ("eat more vegetables", ["add a vegetable to every meal", "keep cut vegetables in the fridge",
                             "try roasting them", "blend greens into soups", "cook one new recipe a week"]),
    ("keep a journal", ["write at the same time each day", "start with just three lines",
                        "note one good thing that happened", "do not worry about style", "reread old entries"]),
]
_ADVICE = ["How can I {g}?", "Any tips to {g}?", "I want to {g}. Where do I start?", "What's the best way to {g}?",
           "Give me advice on how to {g}.", "My friend {name} wants to {g}. What should I tell them?"]
_CONTEXT = ["", " I'm very busy.", " I work night shifts.", " I've tried before and gave up.", " I'm a student.",
            " I have a small budget.", " I have two kids at home.", " I just moved abroad."]
_PAIRS = [("weather", "climate", "weather is what happens on a given day, climate is the long-term pattern"),
          ("a virus", "a bacterium", "a bacterium is a living cell, a virus needs a host cell to copy itself"),
          ("a crocodile", "an alligator", "alligators have broad snouts, crocodiles narrower ones and show more teeth"),
          ("empathy", "sympathy", "empathy is feeling with someone, sympathy is feeling for them"),
          ("a comet", "an asteroid", "comets are icy and grow tails near the Sun, asteroids are rocky"),
          ("baking soda", "baking powder", "baking powder already contains the acid that baking soda needs"),
          ("a lake", "a pond", "lakes are usually larger and deep enough that sunlight does not reach the bottom"),
          ("a novel", "a novella", "a novella is shorter and usually follows a single plot line"),
          ("a hurricane", "a tornado", "hurricanes form over warm oceans and last days, tornadoes form over land and "
           "last minutes"),
          ("affect", "effect", "affect is usually the verb and effect the noun"),
          ("a mountain", "a hill", "mountains are higher and steeper, though there is no single official line"),
          ("tea", "coffee", "they come from different plants and coffee usually has more caffeine per cup")]
_COMPARE = ["What is the difference between {a} and {b}?", "How do {a} and {b} differ?",
            "Is {a} the same as {b}?", "Compare {a} and {b} for me."]
_WORDS = [("serendipity", "finding something good by chance"), ("ephemeral", "lasting a very short time"),
          ("resilient", "able to recover quickly from difficulties"), ("meticulous", "very careful about details"),
          ("ubiquitous", "found everywhere"), ("candid", "honest and direct"), ("frugal", "careful with money"),
          ("nostalgia", "a fond longing for the past"), ("eloquent", "fluent and persuasive in speaking"),
          ("tenacious", "not giving up easily"), ("ambiguous", "open to more than one meaning"),
          ("benevolent", "kind and generous"), ("pragmatic", "dealing with things in a practical way"),
          ("whimsical", "playful and unusual"), ("diligent", "hard-working and careful"),
          ("gregarious", "fond of company"), ("lethargic", "sluggish and without energy"),
          ("obsolete", "no longer in use"), ("quaint", "attractively old-fashioned"),
          ("verbose", "using more words than needed"), ("zealous", "full of eager enthusiasm"),
          ("aloof", "distant and not friendly"), ("jubilant", "feeling great joy"),
          ("mundane", "ordinary and dull"), ("tranquil", "calm and peaceful")]
_WORD_ASK = ["What does '{w}' mean?", "Define the word '{w}'.", "Use '{w}' in a sentence.",
             "What's a synonym for '{w}'?", "{name} called me '{w}' today. What does that mean?",
             "I read the word '{w}' in a novel. Meaning?"]


def _explain(rng):
    topic, fact = _pick(rng, _TOPICS)
    extra, lead = _pick(rng, _AUDIENCE)
    turns = [(_pick(rng, _EXPLAIN).format(t=topic) + extra,
              f"{lead}{fact} {_pick(rng, _EXPLAIN_TAIL).format(t=topic)}")]
    if rng.random() < 0.4:
        q, a = _pick(rng, _MORE)
        turns.append((q, a.format(t=topic, o=_pick(rng, _TOPICS)[0], name=_pick(rng, _NAMES))))
    return turns


def _writing(rng):
    form, subject, tone, name = _pick(rng, _FORMS), _pick(rng, _SUBJECTS), _pick(rng, _TONES), _pick(rng, _NAMES)
    light, when, feel = (_pick(rng, _IMAGES[k]) for k in ("light", "time", "feel"))
    ask = _pick(rng, [f"Please write {form} about {subject}.{tone}", f"Write {form} about {subject} for {name}.{tone}",
                      f"Could you draft {form} on {subject}?{tone}"])
    if form in _VERSE:
        body = (f"The {light} {when} settles over {subject},\nand everything feels {feel} and near.\n"
                f"{name} would smile at how {subject} can turn an ordinary day into something worth keeping.")
    else:
        body = (f"Dear {name},\n\nI keep thinking about {subject}. On a {light} {when} it made everything feel "
                f"{feel}, and I wanted to put that into words before the moment slipped away.\n\nWith warm wishes")
    turns = [(ask, f"Here is {form} about {subject}:\n\n{body}")]
    if rng.random() < 0.3:
        turns.append((_pick(rng, ["Make it shorter.", "Can you make it rhyme more?", "Give it a title."]),
                      f"Of course. Try this: \"{light.capitalize()} {when}, {subject}, and a {feel} heart.\""))
    return turns


def _advice(rng):
    goal, tips = _pick(rng, _GOALS)
    chosen = rng.sample(tips, 3)
    answer = "Good goal. Three things help most:\n\n" + "\n".join(f"- {t.capitalize()}." for t in chosen)
    answer += "\n\n" + _pick(rng, ["Start small and be consistent.", "Pick one and try it this week.",
                                   "Small habits add up quickly."])
    turns = [(_pick(rng, _ADVICE).format(g=goal, name=_pick(rng, _NAMES)) + _pick(rng, _CONTEXT), answer)]
    if rng.random() < 0.35:
        rest = [t for t in tips if t not in chosen]
        turns.append(("Thanks! Anything else?", f"One more: {_pick(rng, rest)}. It works well with the others."))
    return turns


def _compare(rng):
    a, b, diff = _pick(rng, _PAIRS)
    if rng.random() < 0.5:
        a, b = b, a
    return [(_pick(rng, _COMPARE).format(a=a, b=b) + _pick(rng, _AUDIENCE)[0],
             f"They are related but not the same: {diff}. {_pick(rng, ['People mix them up often.', 'It is a common question.', 'Both words are used loosely in everyday speech.'])}")]


def _word(rng):
    word, meaning = _pick(rng, _WORDS)
    name = _pick(rng, _NAMES)
    return [(_pick(rng, _WORD_ASK).format(w=word, name=name),
             f"'{word.capitalize()}' means {meaning}. For example: \"{name} was {word} about it\" or a similar "
             f"sentence, depending on context.")]


_OTHER = [(_explain, 0.3), (_writing, 0.25), (_advice, 0.2), (_compare, 0.12), (_word, 0.13)]


def _other(rng: random.Random) -> list[tuple[str, str]]:
    r, acc = rng.random(), 0.0
    for kind, share in _OTHER:
        acc += share
        if r < acc:
            return kind(rng)
    return _OTHER[0][0](rng)


def generate_demo_corpus(size: int = 600, seed: int = 0, coding_share: float = 0.4,
                         math_share: float = 0.15) -> list[dict]:
    """Generate ``size`` labelled ShareGPT records: about 40% coding, 15% math, the rest other."""
    rng = random.Random(f"{GENERATOR_VERSION}:{seed}")
    records = []
    for i in range(size):
        r = rng.random()
        language = None
        if r < coding_share:
            label = "coding"
            turns, language = _coding(rng)
        elif r < coding_share + math_share:
            label, turns = "math", _math(rng)
        else:
            label, turns = "other", _other(rng)
        conversations = []
        for human, gpt in turns:
            conversations += [{"from": "human", "value": human}, {"from": "gpt", "value": gpt}]
        records.append({"id": f"demo_{seed}_{i}", "conversations": conversations,
                        "label": label, "language": language})
    return records

"""Plain-word explanations of every term a student meets on screen, for hover help.

`GLOSSARY` maps a term, as it is written in titles, labels and text, to one or two sentences
with no jargon. `explain(text)` finds the glossary's terms in any text (a chart title, a
caption), so that a UI can offer help for each.
"""

from __future__ import annotations

import re
from functools import cache

GLOSSARY: dict[str, str] = {
    # the two paths
    "AI": "Artificial intelligence: computer programs that do tasks that used to need a person, such as writing.",
    "LLM": (
        "A large language model: an AI trained on huge amounts of text to predict the next word. "
        "Firms make it better mainly by scaling: more data and computing power."
    ),
    "world model": (
        "An AI that learns how the physical world works, for example from video, to predict and plan. "
        "Yann LeCun argues this, not bigger LLMs, leads to real understanding."
    ),
    "scaling": (
        "Making an LLM better by training it with more computing power and data. "
        "Each extra step of quality costs more than the last."
    ),
    "quality": (
        "How good a firm's AI product is, on one scale for both paths. "
        "Customers choose between firms by it, and demand for AI grows with the best on offer."
    ),
    # what the firms do and believe
    "share of AI budget on LLMs": (
        "Of all the money a firm spends on AI research this quarter, the part that goes to LLMs. "
        "The rest goes to world-model research."
    ),
    "target share": (
        "The share of its AI budget a firm would put on LLMs if it could move at once. "
        "Its actual share moves toward the target a step each quarter."
    ),
    "AI budget": "The money a firm spends on AI research in a quarter: LLM spending plus world-model spending.",
    "payback": (
        "What the next dollar spent on LLMs truly earns back, in dollars. "
        "Below 1 it loses money; the firms cannot see this number, only the model's maker can."
    ),
    "big muddy": (
        "Spending that goes on after it has stopped paying back: the next LLM dollar earns less than a dollar, "
        "yet firms keep spending. The name comes from a song about soldiers wading ever deeper into a river."
    ),
    "LLM ceiling": (
        "The highest quality LLMs can ever reach, however much is spent. "
        "It is hidden: nobody in the model knows it, and the firms must guess it from what they see."
    ),
    "true ceiling": "The LLM ceiling the scenario has set. The firms never see it; they only see quality so far.",
    "believed ceiling": (
        "The LLM ceiling a firm expects. It starts from the evidence but adds the firm's hope "
        "that scaling will keep working."
    ),
    "evidence ceiling": (
        "The LLM ceiling that a fair observer would expect from the same results the firm has seen. "
        "The gap between the believed and the evidence ceiling is hope."
    ),
    "evidence": "What firms have actually seen so far: how much quality their spending has bought.",
    "difficulty": (
        "How much world-model knowledge is needed for a breakthrough. "
        "The true difficulty is hidden; each firm has its own guess, its believed difficulty."
    ),
    "believed difficulty": (
        "A firm's guess of how much world-model knowledge a breakthrough needs. "
        "It falls when a rival breaks through, since it then looks easier."
    ),
    "knowledge": (
        "What a firm has learned about building world models, from its own research and from what others publish."
    ),
    "world-model knowledge": (
        "What a firm has learned about building world models, from its own research "
        "and from what others publish. A breakthrough comes when it reaches the true difficulty."
    ),
    "breakthrough": (
        "The moment a firm learns enough to build a world model that works. "
        "A product follows after more development; rivals can then catch up faster."
    ),
    "world-model breakthrough": (
        "The moment a firm learns enough to build a world model that works, shown as a star. "
        "A product follows after more development."
    ),
    "pivot": "A firm pivots when it first puts most of its AI budget into world models instead of LLMs.",
    "protected world-model budget": (
        "A share of the AI budget a firm keeps for world-model research whatever happens, as company policy, "
        "like a research lab that is left alone."
    ),
    "wm floor": (
        "The protected world-model budget, as the parameters name it: the share of its AI budget a firm keeps "
        "for world-model research whatever happens."
    ),
    "hedge": "Keeping some money on the other path in case the main bet fails, like insurance.",
    # the six decision terms
    "decision term": (
        "One of the six reasons that pull a firm's spending toward LLMs or toward world models each quarter. "
        "Together they set its target share."
    ),
    "expected value": (
        "The sober reason: what the firm believes the next dollar buys on each path. "
        "It pushes toward the path that looks better value."
    ),
    "revenue feedback": (
        "Money coming in from today's LLM products makes the LLM path feel like the one that works, "
        "so success now pulls more spending to it."
    ),
    "competitive pressure": ("The fear of falling behind rivals who spend on LLMs, so a firm keeps up with them."),
    "scaling optimism": "The hope that making LLMs bigger will keep working, beyond what the evidence shows.",
    "sunk cost": (
        "Money already spent, which cannot be got back. It should not matter for the next decision, "
        "but firms that have spent a lot on LLMs find it hard to stop."
    ),
    "investor pressure": (
        "Shareholders and investors expect the firm to keep up in the LLM race; "
        "stepping back could make its share price or funding fall."
    ),
    "drivers": (
        "The five forces beyond expected value that can keep firms on LLMs: revenue feedback, competitive "
        "pressure, scaling optimism, sunk cost and investor pressure. Each can be switched off."
    ),
    "share points": ("Differences in a share counted in percentage points: moving from 60% to 65% is 5 share points."),
    "toward LLMs": "A push that makes the firm want to put more of its AI budget on LLMs.",
    "toward world models": "A push that makes the firm want to put more of its AI budget on world-model research.",
    # money
    "AI revenue": "Money customers pay a firm for its AI products in a quarter, in billions of dollars.",
    "cash": (
        "The money a firm has in the bank at the end of a quarter. "
        "A firm that cannot pay its bills runs out of cash and leaves the market."
    ),
    "investment share": (
        "How much of the most it could invest in AI a firm actually invests. "
        "Below 100%, the firm no longer believes AI earns more than the money costs."
    ),
    "market share": (
        "The part of all AI buyers who buy from this firm. Buyers switch slowly: only a few reconsider each quarter."
    ),
    "concentration": (
        "How much of the market the biggest firms hold. "
        "It is measured by the HHI: 10,000 means one firm has everything; the lower, the more evenly shared."
    ),
    "HHI": (
        "The Herfindahl-Hirschman index of concentration: add up each firm's market share in percent, squared. "
        "10,000 is one firm with the whole market."
    ),
    "$B": "Billions of US dollars.",
    # compute and energy
    "compute": "Computing power used to train and run AI, counted in FLOP.",
    "FLOP": (
        "One arithmetic step of a computer (floating-point operation). "
        "Training today's largest models takes roughly 10²⁶ of them: a 1 followed by 26 zeros."
    ),
    "compute bought": (
        "How much computing power a firm's LLM spending bought this quarter, for research and to serve customers."
    ),
    "price of compute": (
        "What computing power costs compared with its usual trend. "
        "1 means the normal price; 3 means a shock has made it three times as expensive."
    ),
    "price index": "A price compared with a normal level: 1 is normal, 2 is twice as expensive.",
    "shock": "A sudden event from outside, such as a jump in the price of chips, that no firm controls.",
    "energy": "Electricity used by the computers that train LLMs, in gigawatt hours (GWh).",
    "GWh": "Gigawatt hour: a million kilowatt hours of electricity, roughly what a hundred US homes use in a year.",
    "training run": (
        "One long job that trains a new AI model from scratch on many computers. "
        "The largest run of the year is the frontier."
    ),
    "log scale": "An axis where each step up multiplies by the same amount (10, 100, 1000) instead of adding.",
    # running the model
    "scenario": "A story about the world that the model plays out: which firms, what is possible, which forces are on.",
    "seed": (
        "A number that fixes the run's chance events: the same seed always gives the same run, so a class can "
        "look at the same history. Runs with many seeds show how much of an outcome is luck."
    ),
    "quarter": "Three months. The model moves one quarter at a time; 2026Q1 is January to March 2026.",
    "median": "The middle value: half of the runs ended above it and half below.",
    "50% band": (
        "The darker shaded range holding the middle half of the runs: a quarter of the runs lie above it, "
        "a quarter below."
    ),
    "90% band": (
        "The lighter shaded range holding the middle 90% of the runs: only 1 run in 20 lies above it, 1 in 20 below."
    ),
    "firm": (
        "One of the companies in the race, such as the OpenAI-like lab: a simplified stand-in, not the real company."
    ),
}
"""Term -> one or two plain sentences. Terms are matched case-insensitively as whole words by `explain`."""


@cache
def _pattern(term: str) -> re.Pattern:
    """A whole-word, case-insensitive match of ``term`` or its plural in s (its words may be split by
    spaces or hyphens: "world model" matches "world-model" and "world models")."""
    words = [re.escape(word) for word in re.split(r"[\s-]+", term)]
    return re.compile(r"(?<![\w-])" + r"[\s-]+".join(words) + r"s?(?![\w-])", re.IGNORECASE)


def explain(text: str | list[str]) -> list[str]:
    """The glossary's terms found in ``text`` (a title, or its lines), as whole words in any case, in
    the order they first appear; a term inside a longer term found there ("ceiling" in "LLM
    ceiling") is left out."""
    if isinstance(text, list):
        text = " ".join(text)
    found = []
    for term in GLOSSARY:
        match = _pattern(term).search(text)
        if match:
            found.append((match.start(), match.end(), term))
    kept = [
        (start, term)
        for start, end, term in found
        if not any(s <= start and end <= e and (s, e) != (start, end) for s, e, _ in found)
    ]
    return [term for _, term in sorted(kept)]

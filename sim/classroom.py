"""Class mode's core: a class plays one scenario, each student running a firm, quarter by quarter.

A `ClassSession` holds the model, the seats (which student runs which firm, with a secret token each)
and the decisions handed in for the coming quarter. A student's firm is on the ``student`` policy
(`sim.policies.STUDENT`): in each quarter it takes the student's decision (the share of the AI budget
on LLM scaling and the share of its investment capacity to use), or keeps last quarter's when none
came in; firms without a student follow their policy in the scenario (the model's own rule unless it
names another). The same mechanisms and random numbers as the single-player model run underneath,
so a session replays exactly: it is saved as its
scenario, seed, seats and every quarter's decisions (`save`), and `load` rebuilds it by replaying
them. The screens and the network around it (the UI's class mode) are its clients; nothing here
knows about them.

Thread-safe: students may hand in decisions while the teacher advances the quarter.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.files import write_atomically
from sim.mechanisms import run_constants
from sim.model import AIRaceModel
from sim.params import ParameterError
from sim.policies import STUDENT, Decision, FirmView, Hold, Policy, make_policy
from sim.scenarios import load_scenario

PUBLIC_OWN = (
    "cash", "ai_revenue", "market_share", "budget", "x", "investment_share", "llm_quality", "wm_quality",
    "wm_knowledge", "wm_breakthrough", "llm_sunk", "wm_sunk", "believed_ceiling", "evidence_ceiling",
    "confidence", "valuation", "alive", "active",
)  # fmt: skip
"""A student's own firm's variables on their screen (never the true ceiling or difficulty, nor the true
payback of the next LLM dollar)."""
PUBLIC_RIVAL = ("market_share", "llm_quality", "wm_quality", "wm_breakthrough", "llm_spend", "alive")
"""What a student sees of every other firm."""
SAVE_VERSION = 1


@dataclass(frozen=True)
class Seat:
    """A student at a firm: their display name, the token that lets them act for it (and only it), and
    the quarter they took it over from (before it, the firm followed its policy in the scenario)."""

    firm: str
    name: str
    token: str
    since: int = 0


@dataclass(frozen=True)
class Choice:
    """A student's decision for one quarter: ``x``, the share of the AI budget on LLM scaling, and
    ``investment_share``, the share of the firm's investment capacity to use (None: keep last quarter's)."""

    x: float
    investment_share: float | None = None


class StudentPolicy(Hold):
    """The ``student`` policy of a firm a student runs: the firm's own policy in the scenario (``before``)
    until the student took it over, then this quarter's choice, or last quarter's decision when none came in."""

    def __init__(self, session: ClassSession, seat: Seat, before: Policy):
        self.session = session
        self.seat = seat
        self.before = before

    def decide(self, view: FirmView) -> Decision:
        if view.quarter < self.seat.since:
            return self.before.decide(view)
        choice = self.session._applying.get(self.seat.firm)
        if choice is None:
            return super().decide(view)
        share = view.investment_share if choice.investment_share is None else choice.investment_share
        return Decision(x=choice.x, investment_share=share, target=choice.x)


class ClassSession:
    """One class playing one scenario with one seed. Students `join` (each gets a firm and a token),
    hand in decisions with `submit`, and `advance` runs the quarter."""

    def __init__(
        self,
        scenario: str = "baseline",
        seed: int = 42,
        steps: int | None = None,
        join_code: str | None = None,
        teacher_secret: str | None = None,
        autosave: str | Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.scenario_name = scenario
        self.seed = seed
        self.steps = steps
        self.join_code = join_code or f"{secrets.randbelow(10**6):06d}"
        self.teacher_secret = teacher_secret or secrets.token_urlsafe(16)
        self.seats: list[Seat] = []
        self.decisions: list[dict[str, Choice]] = []  # handed in, per quarter run so far
        self.pending: dict[str, Choice] = {}  # for the coming quarter
        self._applying: dict[str, Choice] = {}
        self._lock = threading.RLock()
        self.autosave = None if autosave is None else Path(autosave)
        self.clock = clock
        self.deadline: float | None = None  # when the coming quarter closes (clock time); None: no timer
        firms = load_scenario(scenario).firms
        self.firms = [firm.name for firm in firms]
        self.policies = [firm.policy for firm in firms]  # each firm's policy in the scenario
        self.model = self._new_model()

    # --- seats -------------------------------------------------------------------------------

    def join(self, name: str, code: str) -> Seat:
        """Seat a student at the first firm without one; refused with a wrong code or a full class."""
        name = " ".join(str(name).split())[:40]
        if not name:
            raise ParameterError("display name: empty; type the name the class will see")
        with self._lock:
            if not _same(str(code).strip(), self.join_code):
                raise ParameterError("join code: wrong; ask the teacher for the code on the screen")
            if not self.model.running:
                raise ParameterError("the session is over: no quarter left to play")
            taken = {seat.firm for seat in self.seats}
            free = [firm for firm in self.firms if firm not in taken]
            if not free:
                raise ParameterError(f"the class is full: {len(self.firms)} firms, each run by a student")
            seat = Seat(free[0], name, secrets.token_urlsafe(16), since=self.model.quarter)
            self.seats.append(seat)
            self.model = self._replayed()  # the same past, with the firm the student's from now on
            return seat

    def seat(self, token: str) -> Seat:
        """The seat a token belongs to (a student rejoining after a reload); refused if none."""
        for seat in self.seats:
            if _same(str(token), seat.token):
                return seat
        raise ParameterError("token: not a seat in this class; join again with the code")

    # --- decisions ---------------------------------------------------------------------------

    def submit(self, token: str, x: object, investment_share: object = None) -> Choice:
        """Hand in (or change) the decision of the token's firm for the coming quarter; refused out of the
        firm's bounds, with the allowed range."""
        seat = self.seat(token)
        with self._lock:
            if not self.model.running:
                raise ParameterError("the session is over: no quarter left to decide")
            x_max = self._x_max(seat.firm)
            choice = Choice(
                _number("x (share of the AI budget on LLMs)", x, 0.0, x_max),
                None if investment_share is None else _number("investment share", investment_share, 0.0, 1.0),
            )
            self.pending[seat.firm] = choice
            return choice

    def _x_max(self, firm: str) -> float:
        """The most of its AI budget a firm may put on LLMs (the cap its protected world-model budget sets)."""
        return float(run_constants(self.model.params).x_max[self.firms.index(firm)])

    def start_timer(self, seconds: float) -> None:
        """Close the coming quarter ``seconds`` from now (or when every student has handed in)."""
        with self._lock:
            self.deadline = self.clock() + _number("deadline (seconds)", seconds, 1.0, 3600.0)

    def extend(self, seconds: float) -> None:
        """Give the students ``seconds`` more for the coming quarter."""
        with self._lock:
            if self.deadline is None:
                raise ParameterError("no timer is running: start one first")
            self.deadline = max(self.deadline, self.clock()) + _number("extension (seconds)", seconds, 1.0, 3600.0)

    def seconds_left(self) -> float | None:
        """Seconds until the coming quarter closes (0 when past), or None without a timer."""
        with self._lock:
            return None if self.deadline is None else max(self.deadline - self.clock(), 0.0)

    def due(self) -> bool:
        """Whether the coming quarter should run now: every seated firm handed in, or the timer ran out."""
        with self._lock:
            if not self.model.running or not self.seats:
                return False
            return not self.waiting_for() or (self.deadline is not None and self.clock() >= self.deadline)

    def waiting_for(self) -> list[str]:
        """The seated firms whose decision for the coming quarter is not in yet."""
        with self._lock:
            return [seat.firm for seat in self.seats if seat.firm not in self.pending]

    def advance(self) -> int:
        """Run the coming quarter with the decisions handed in (a firm without one keeps last quarter's);
        returns the quarters run so far."""
        with self._lock:
            if not self.model.running:
                raise ParameterError("the session is over: every quarter has run")
            decisions = dict(self.pending)
            self._step(decisions)
            self.decisions.append(decisions)
            self.pending = {}
            self.deadline = None
            if self.autosave is not None:  # after every quarter: a restart loses nothing run
                self.save(self.autosave)
            return self.model.quarter

    def reveal(self, secret: str) -> dict[str, float]:
        """What no firm sees, for the teacher's debrief: the true LLM ceiling and world-model difficulty.
        Needs the teacher's secret."""
        if not _same(str(secret), self.teacher_secret):
            raise ParameterError("teacher secret: wrong; only the teacher's link shows the hidden quantities")
        environment = self.model.config.environment
        return {"llm_ceiling": environment.llm_ceiling, "wm_difficulty": environment.wm_difficulty}

    def _step(self, decisions: dict[str, Choice], model: AIRaceModel | None = None) -> None:
        self._applying = decisions
        try:
            (model or self.model).step()
        finally:
            self._applying = {}

    # --- what a student sees -----------------------------------------------------------------

    def screen(self, token: str) -> dict[str, Any]:
        """A student's screen: their firm's state after the last quarter, the rivals' public moves, the
        bounds of their decision and what they handed in. Nothing hidden (`PUBLIC_OWN`, `PUBLIC_RIVAL`)."""
        seat = self.seat(token)
        with self._lock:
            state, index = self.model.state, self.firms.index(seat.firm)
            own = {name: _plain(state[name][index]) for name in PUBLIC_OWN}
            rivals = [
                {"firm": firm, **{name: _plain(state[name][j]) for name in PUBLIC_RIVAL}}
                for j, firm in enumerate(self.firms)
                if j != index
            ]
            pending = self.pending.get(seat.firm)
            return {
                "firm": seat.firm,
                "name": seat.name,
                "quarter": self.model.quarter,
                "quarters": self.model.max_steps,
                "own": own,
                "rivals": rivals,
                "x_max": self._x_max(seat.firm),
                "handed_in": None if pending is None else asdict(pending),
            }

    # --- saving, replaying, debriefing -------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write the session (scenario, seed, seats, every quarter's decisions) as JSON, atomically."""
        with self._lock:
            data = {
                "version": SAVE_VERSION,
                "scenario": self.scenario_name,
                "seed": self.seed,
                "steps": self.steps,
                "join_code": self.join_code,
                "teacher_secret": self.teacher_secret,
                "seats": [asdict(seat) for seat in self.seats],
                "decisions": [{firm: asdict(c) for firm, c in quarter.items()} for quarter in self.decisions],
                "pending": {firm: asdict(choice) for firm, choice in self.pending.items()},
            }
        text = json.dumps(data, indent=1)
        write_atomically(Path(path), lambda temporary: Path(temporary).write_text(text, encoding="utf-8"))

    @classmethod
    def load(cls, path: str | Path, autosave: bool = True) -> ClassSession:
        """A saved session, rebuilt by replaying its decisions (the same state, bit for bit); with
        ``autosave`` it goes on saving to the same file after every quarter."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") != SAVE_VERSION:
                raise ValueError(f"version {data.get('version')!r}, this aisim reads version {SAVE_VERSION}")
            session = cls(data["scenario"], data["seed"], data["steps"], data["join_code"], data["teacher_secret"])
            session.autosave = path if autosave else None
            session.seats = [Seat(**seat) for seat in data["seats"]]
            session.decisions = [{f: Choice(**c) for f, c in q.items()} for q in data["decisions"]]
            session.pending = {f: Choice(**c) for f, c in data["pending"].items()}
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ParameterError(f"{path}: not a class session aisim can read ({err})") from None
        session.model = session._replayed()
        return session

    def _new_model(self, policy: str = STUDENT, parameters: dict | None = None) -> AIRaceModel:
        """The session's model from the start, with the seated firms on ``policy``."""
        overrides = {f"firms.{seat.firm}.policy": policy for seat in self.seats}
        model = AIRaceModel(
            self.scenario_name, rng=self.seed, steps=self.steps, parameters={**overrides, **(parameters or {})}
        )
        seats = {seat.firm: seat for seat in self.seats}
        for agent in model.agents:
            if agent.policy_name == STUDENT and agent.name in seats:
                before = make_policy(self.policies[agent.index], self.seed, agent.index)  # as in the scenario
                agent.policy = StudentPolicy(self, seats[agent.name], before)
        return model

    def _replayed(self) -> AIRaceModel:
        """A new model with the seats as they are, run through every quarter's recorded decisions."""
        model = self._new_model()
        for decisions in self.decisions:
            self._step(decisions, model)
        return model

    def debrief(self) -> pd.DataFrame:
        """Each student's firm, quarter by quarter: what the student chose (``x``) and the firm's market
        share, beside the same run on the same seed with every student's firm run instead by the model's
        own rule (``biased_x``, ``biased_share``) or by it with every driver off (``expected_value_x``,
        ``expected_value_share``); the firms no student ran are unchanged."""
        with self._lock:
            played = self.model.firm_dataframe() if self.model.quarter else None
            quarters = self.model.quarter
        if played is None or not self.seats:
            return pd.DataFrame()
        others = {}
        for label in ("biased", "expected_value"):
            model = self._new_model(policy=label)
            for _ in range(quarters):
                model.step()
            others[label] = model.firm_dataframe().set_index(["firm", "step"])
        rows = []
        for seat in self.seats:
            mine = played[played.firm == seat.firm].set_index("step")
            for q in range(seat.since, quarters):
                row = {"quarter": q, "firm": seat.firm, "student": seat.name, "x": mine.x[q]}
                row["share"] = mine.market_share[q]
                for label, table in others.items():
                    row[f"{label}_x"] = table.x[(seat.firm, q)]
                    row[f"{label}_share"] = table.market_share[(seat.firm, q)]
                rows.append(row)
        return pd.DataFrame(rows)


def _number(label: str, value: object, low: float, high: float) -> float:
    """A finite number within [low, high], or a ParameterError naming the value and the range."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ParameterError(f"{label}: {value!r} is not a number; allowed {low:g} to {high:g}") from None
    if isinstance(value, bool) or not low <= number <= high:  # NaN fails the comparison too
        raise ParameterError(f"{label}: {value!r} is out of range; allowed {low:g} to {high:g}")
    return number


def _same(given: str, secret: str) -> bool:
    """Compare a secret in constant time, whatever characters the given text holds."""
    return secrets.compare_digest(given.encode("utf-8", "replace"), secret.encode("utf-8"))


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value

"""A small Python client of class mode's HTTP API (`viz.classroom_web`), with the standard library only:
a student (`Student`) or the teacher (`Teacher`) of one server. The load and restart tests use it; so
can a script that plays a seat."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any


class ClassError(Exception):
    """The server refused a request: its HTTP status and its one line."""

    def __init__(self, status: int, text: str):
        super().__init__(f"{status}: {text}")
        self.status = status
        self.text = text


def call(base: str, path: str, body: dict | None = None, headers: dict[str, str] | None = None) -> Any:
    """GET (or POST ``body`` as JSON) ``base + path``; the JSON answer, or `ClassError`."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base.rstrip("/") + path, data=data, headers={**(headers or {})})
    if data is not None:
        request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as error:
        text = error.read().decode("utf-8", "replace")
        with contextlib.suppress(ValueError, KeyError, TypeError):  # a JSON error's line, or the raw text
            text = json.loads(text)["error"]
        raise ClassError(error.code, text) from None


class Student:
    """A student at a class server: `join` once, then `screen` and `decide` with the personal code."""

    def __init__(self, base: str, code: str | None = None):
        self.base = base
        self.code = code

    def join(self, join_code: str, name: str) -> dict:
        answer = call(self.base, "/class/api/join", {"code": join_code, "name": name})
        self.code = answer["code"]
        return answer

    def screen(self) -> dict:
        return call(self.base, "/class/api/me", headers={"x-personal-code": str(self.code)})

    def decide(self, x: float, investment_share: float | None = None) -> dict:
        body = {"x": x, "investment_share": investment_share}
        return call(self.base, "/class/api/decide", body, headers={"x-personal-code": str(self.code)})


class Teacher:
    """The teacher of one session, by its secret."""

    def __init__(self, base: str, secret: str):
        self.base = base
        self.headers = {"x-teacher-secret": secret}

    def state(self) -> dict:
        return call(self.base, "/class/api/teacher", headers=self.headers)

    def control(self, action: str, **body: Any) -> dict:
        """``play`` (seconds=), ``pause``, ``advance``, ``extend`` (seconds=) or ``reveal``."""
        return call(self.base, f"/class/api/teacher/{action}", body, headers=self.headers)

    def debrief(self) -> list[dict]:
        return call(self.base, "/class/api/teacher/debrief.json", headers=self.headers)["rows"]


def submit_together(students: list[Student], targets: list[float]) -> list[float]:
    """Every student hands in their target at the same moment (one thread each, released together);
    returns how long each one's answer took, in seconds. A refusal is raised."""
    barrier = threading.Barrier(len(students))
    took: list[float] = [0.0] * len(students)
    errors: list[BaseException] = []

    def hand_in(i: int) -> None:
        barrier.wait()
        start = time.perf_counter()
        try:
            students[i].decide(targets[i])
        except BaseException as error:  # reported to the caller below
            errors.append(error)
        took[i] = time.perf_counter() - start

    threads = [threading.Thread(target=hand_in, args=(i,)) for i in range(len(students))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return took

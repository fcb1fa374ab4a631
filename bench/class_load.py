"""Class mode under a full class: 40 simulated students (HTTP clients, `viz.classroom_client`) join one
`aisim class` server on this machine and hand in their decisions within the same second, quarter after
quarter. Prints, as medians over the quarters (and the worst):

- how long a student waits for the server to take a decision, with 39 others arriving at once;
- how long after the 40 decisions were sent the quarter has run (the server runs it when everyone
  handed in; its clock looks every 0.2 s), as a student polling every 10 ms sees it;
- how long a quarter takes when the teacher runs it ("Run the quarter now");
- the server's memory (resident set) before anyone joined, after 40 joined, and at the end.

The issue's target: the quarter runs within 1 s of the decisions.

Run: `.venv/bin/python bench/class_load.py [--students 40] [--quarters 8]`
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from viz.browser import serve
from viz.classroom_client import Student, Teacher, submit_together


def resident_mb(process: subprocess.Popen) -> float:
    """The process's resident memory in MB (Linux)."""
    status = Path(f"/proc/{process.pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument(
        "--quarters", type=int, default=8, help="quarters handed in at once (the teacher runs one more)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        process = {}
        options = ["--class", "baseline", "--class-folder", folder, "--quarter-seconds", "600"]
        log = Path(folder) / "server.log"
        with serve(log, options=options, started=lambda p: process.setdefault("server", p)) as url:
            server = process["server"]
            text = log.read_text()
            code = re.search(r"class code (\d{6})", text).group(1)
            teacher = Teacher(url, re.search(r"#secret=(\S+)", text).group(1))
            memory = {"before anyone joined": resident_mb(server)}
            students = [Student(url) for _ in range(args.students)]
            start = time.perf_counter()
            for i, student in enumerate(students):
                student.join(code, f"student {i}")
            joined = time.perf_counter() - start
            memory[f"after {args.students} joined"] = resident_mb(server)
            teacher.control("play", seconds=600)
            waits, runs = [], []
            for quarter in range(args.quarters):
                targets = [
                    0.1 + 0.6 * ((i * 7 + quarter) % args.students) / args.students for i in range(args.students)
                ]
                sent = time.perf_counter()
                waits += submit_together(students, targets)
                while students[0].screen()["quarter"] <= quarter:
                    time.sleep(0.01)
                runs.append(time.perf_counter() - sent)
            start = time.perf_counter()
            teacher.control("advance")
            by_teacher = time.perf_counter() - start
            memory["at the end"] = resident_mb(server)

    print(f"{args.students} students joined in {joined:.2f} s ({1000 * joined / args.students:.0f} ms each)")
    print(
        f"a decision taken with {args.students - 1} others at once: median {1000 * statistics.median(waits):.0f} ms, "
        f"worst {1000 * max(waits):.0f} ms ({len(waits)} decisions)"
    )
    print(
        f"{args.students} decisions sent at once to the quarter run: median {statistics.median(runs):.2f} s, worst "
        f"{max(runs):.2f} s over {len(runs)} quarters (target: under 1 s) -> {'met' if max(runs) < 1.0 else 'NOT met'}"
    )
    print(f"a quarter run by the teacher: {1000 * by_teacher:.0f} ms")
    for when, mb in memory.items():
        print(f"server memory {when}: {mb:.0f} MB")


if __name__ == "__main__":
    main()

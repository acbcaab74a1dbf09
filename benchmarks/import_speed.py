"""How fast ``turntrace import claude-code`` and ``turntrace import codex`` read transcripts into the local store,
and how memory grows with the number of files (a script, not a test).

python -m benchmarks.import_speed [sessions [small]]
    # default 40 and 5000. Big files: imports `sessions` and 4 x `sessions` long sessions; small files: `small` / 5
    # and `small` one-prompt sessions of about 5 kB; then `sessions` and 4 x `sessions` long Codex rollouts. Each
    # import in a fresh process; prints MB/s and peak RSS.

The sessions are generated (no real user data) the way Claude Code writes them: streamed responses one line per
content block, file reads whose results are tens of kilobytes (``toolUseResult`` repeats the file), command
output, parallel tool calls, and a subagent in its own file every few prompts. The small ones are a question, a
command and its output, and an answer: many short sessions, each a few spans (about 1,200 spans a MB, where the
big files have about 50), so they measure the cost per session and per span rather than per byte. The Codex
rollouts are written as Codex writes them (tests/codex_transcripts.py): a request's reasoning (encrypted, a few kB),
its command calls, its token_count (re-emitted once with the total unchanged), then the commands' output.
"""

from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.claude_code_transcripts import HAIKU, Transcript, Usage, project_folder
from tests.codex_transcripts import Rollout
from tests.codex_transcripts import Usage as CodexUsage

_PROMPTS_PER_SESSION = 12
_SOURCE = "\n".join(
    f"    def handler_{i}(self, request, *args, **kwargs):  # {'x' * (i % 40)}\n        return self.respond({i})"
    for i in range(20_000)
)


def _text(rng: random.Random, size: int) -> str:
    start = rng.randrange(0, len(_SOURCE) - size)
    return _SOURCE[start : start + size]


def write_sessions(root: Path, sessions: int, seed: int = 7) -> int:
    """Writes ``sessions`` sessions over 5 projects under ``root``; returns the bytes written."""
    rng = random.Random(seed)
    total = 0
    for number in range(sessions):
        cwd = f"/home/dev/project-{number % 5}"
        folder = project_folder(root, cwd)
        t = Transcript(cwd=cwd)
        for prompt in range(_PROMPTS_PER_SESSION):
            t.wait(rng.uniform(30, 600)).prompt(_text(rng, rng.randrange(50, 800)))
            for _ in range(rng.randrange(2, 6)):
                usage = Usage(
                    rng.randrange(1, 50), rng.randrange(50, 1500), rng.randrange(10_000, 80_000), rng.randrange(0, 3000)
                )
                reads = [
                    ("Read", {"file_path": f"src/mod_{rng.randrange(500)}.py"}) for _ in range(rng.randrange(1, 4))
                ]
                ids = t.response(text=_text(rng, 300), tools=[*reads, ("Bash", {"command": "pytest -q"})], usage=usage)
                for tool_id, (name, tool_input) in zip(ids, [*reads, ("Bash", {})], strict=True):
                    content = _text(rng, rng.randrange(2_000, 60_000) if name == "Read" else rng.randrange(200, 8_000))
                    extra = {"type": "text", "file": {"filePath": tool_input.get("file_path"), "content": content}}
                    t.tool_result(tool_id, content, seconds=rng.uniform(0.05, 4), tool_use_result=extra)
            if prompt % 4 == 3:
                _subagent(t, folder, rng)
            t.response(text=_text(rng, 600), usage=Usage(20, 400, 60_000, 500))
        total += t.write(folder).stat().st_size
    return total + sum(p.stat().st_size for p in root.rglob("agent-*.jsonl"))


def write_small_sessions(root: Path, sessions: int, seed: int = 11) -> int:
    """Writes ``sessions`` one-prompt sessions (about 5 kB each) over 20 projects under ``root``; returns the
    bytes written."""
    rng = random.Random(seed)
    total = 0
    for number in range(sessions):
        cwd = f"/home/dev/project-{number % 20}"
        t = Transcript(cwd=cwd)
        t.prompt(_text(rng, rng.randrange(40, 300)))
        (bash,) = t.response(text=_text(rng, 150), tools=[("Bash", {"command": "git status"})], usage=Usage(3, 120))
        t.tool_result(bash, _text(rng, rng.randrange(200, 1_500)))
        t.response(text=_text(rng, rng.randrange(100, 500)), usage=Usage(5, 200, 13_000, 300))
        total += t.write(project_folder(root, cwd)).stat().st_size
    return total


def write_rollouts(root: Path, sessions: int, seed: int = 13) -> int:
    """Writes ``sessions`` long Codex rollouts under ``root`` (its ``sessions`` folder); returns the bytes written."""
    rng = random.Random(seed)
    total = 0
    for number in range(sessions):
        r = Rollout(cwd=f"/home/dev/project-{number % 5}")
        for _ in range(_PROMPTS_PER_SESSION):
            r.prompt(_text(rng, rng.randrange(50, 800)), seconds=rng.uniform(30, 600))
            for _ in range(rng.randrange(2, 6)):
                commands = [("shell", {"command": ["sed", "-n", "1,400p", f"src/mod_{rng.randrange(500)}.py"]})]
                commands *= rng.randrange(1, 4)
                usage = CodexUsage(rng.randrange(20_000, 90_000), rng.randrange(0, 20_000), rng.randrange(50, 1500))
                r.item({"type": "reasoning", "summary": [], "encrypted_content": _text(rng, rng.randrange(500, 4000))})
                for call_id in r.response(tools=commands, usage=usage, text=_text(rng, 300), repeat_count=1):
                    output = _text(rng, rng.randrange(2_000, 60_000))
                    r.output(
                        call_id,
                        f"Exit code: 0\nWall time: 0.2 seconds\nOutput:\n{output}",
                        seconds=rng.uniform(0.05, 4),
                    )
            r.response(text=_text(rng, 600), usage=CodexUsage(60_000, 50_000, 500))
        total += r.write(root).stat().st_size
    return total


def _subagent(t: Transcript, folder: Path, rng: random.Random) -> None:
    prompt = _text(rng, 400)
    agent_id = f"{rng.getrandbits(40):010x}"
    (task,) = t.response(tools=[("Task", {"prompt": prompt, "subagent_type": "Explore"})], text=None)
    sub = Transcript(t.session_id, start=t.now, sidechain=True, agent_id=agent_id)
    sub.prompt(prompt)
    for _ in range(3):
        (grep,) = sub.response(model=HAIKU, tools=[("Grep", {"pattern": "def"})], usage=Usage(5, 200, 20_000))
        sub.tool_result(grep, _text(rng, 5_000))
    sub.response(model=HAIKU, text="found them")
    sub.write(folder / t.session_id / "subagents", f"agent-{agent_id}.jsonl")
    t.now = sub.now
    t.tool_result(task, f"found them\nagentId: {agent_id}", tool_use_result={"agentId": agent_id})


def measure(root: Path, source: str = "claude-code") -> dict[str, float]:
    """In a fresh process: import ``root`` into a new store; the speed, and the peak RSS before and after."""
    from langchain_turntrace.hashing import InputHasher
    from langchain_turntrace.pricing import PriceBook
    from langchain_turntrace.transcripts import exporter_for_import, import_transcripts, shutdown_within

    size = sum(p.stat().st_size for p in root.rglob("*.jsonl"))
    prices = PriceBook({})
    time.sleep(1.5)  # the price table loads on a thread of its own: not part of the import
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    exporter = exporter_for_import("local", store_path=root.parent / "traces.db", retention_days=None)
    report = import_transcripts(source, [root], exporter, prices=prices, hasher=InputHasher(None), user_id="bench")
    shutdown_within(exporter, 30)
    seconds = time.perf_counter() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "files": report.files,
        "mb": size / 1e6,
        "seconds": seconds,
        "mb_per_s": size / 1e6 / seconds,
        "runs": report.runs,
        "spans": report.spans,
        "rss_before_mb": rss_before / 1024,
        "peak_rss_mb": rss_after / 1024,
    }


def source_of(kind: str) -> str:
    return "codex" if kind == "codex" else "claude-code"


def main(sessions: int = 40, small: int = 5_000) -> None:
    cases = [("big", count, write_sessions) for count in (sessions, 4 * sessions)]
    cases += [("small", count, write_small_sessions) for count in (small // 5, small)]
    cases += [("codex", count, write_rollouts) for count in (sessions, 4 * sessions)]
    for kind, count, write in cases:
        with tempfile.TemporaryDirectory(prefix="turntrace-import-") as scratch:
            root = Path(scratch) / "projects"
            write(root, count)
            out = subprocess.run(
                [sys.executable, "-m", "benchmarks.import_speed", "--one", str(root), source_of(kind)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        r = json.loads(out)
        print(
            f"{kind:5s} {count:5d} sessions: {r['files']:5.0f} files, {r['mb']:4.0f} MB, {r['runs']:5.0f} runs, "
            f"{r['spans']:6.0f} spans in {r['seconds']:5.2f} s = {r['mb_per_s']:3.0f} MB/s, "
            f"{r['spans'] / r['seconds']:6.0f} spans/s; peak RSS {r['peak_rss_mb']:.0f} MB "
            f"({r['rss_before_mb']:.0f} MB before the import)"
        )


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[1] == "--one":
        print(json.dumps(measure(Path(sys.argv[2]), sys.argv[3])))
    else:
        main(*(int(a) for a in sys.argv[1:]))

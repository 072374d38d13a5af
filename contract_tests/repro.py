"""Runnable reproduction scripts (bash + curl + python3), one per failure, written by `--repro-dir`.

A script replays every step of the failure in order - control-plane steps included (reset, clock moves,
rehearsals) - then re-checks the expectation the suite found broken with a small inline check, and exits:

  1  the failure reproduced (the expectation is broken again)
  0  the target now answers as the document requires
  2  the script could not run (a key missing, the target unreachable)
  3  inconclusive: the expectation is not one a script can re-check; the answer is printed to compare

Values the target chose (IDs, times) are captured from earlier answers and substituted into later
requests; a clock move is replayed relative to the last clock reading; keys come from $API_KEY and
$SECOND_API_KEY (never written into the script); the idempotency keys and names the suite generated get a
per-run suffix, so a replay against a real deployment does not hit the suite's own keys again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .context import KEY_PREFIX
from .exchange import Exchange
from .outcome import Finding, ScriptCheck

ID = re.compile(r"[a-z]+_[0-9a-f]{32}")
ID_LITERAL = re.compile(rf"^{ID.pattern}$")
TIME_KEYS = re.compile(r"(_at|^now)$")
MIN_TIME = 10**9
# X-Mock-Namespace is left out: the suite's own namespace is gone when a script runs; a script resets and
# acts on the world of $API_KEY.
SKIPPED_HEADERS = {
    "content-length",
    "user-agent",
    "accept-encoding",
    "connection",
    "accept",
    "host",
    "x-mock-namespace",
}

HELPER = r"""
import json, os, re, sys

def load(n):
    folder = os.environ["WORK"]
    with open(f"{folder}/{n}.status") as fh:
        status = int(fh.read().strip() or 0)
    with open(f"{folder}/{n}.body", "rb") as fh:
        raw = fh.read()
    headers = {}
    with open(f"{folder}/{n}.headers", encoding="latin-1") as fh:
        for line in fh:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    return status, body, headers, raw

def at(doc, pointer):
    if pointer in ("", "/"):
        return doc
    for token in pointer.lstrip("/").split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(doc, dict) and token in doc:
            doc = doc[token]
        elif isinstance(doc, list) and token.isdigit() and int(token) < len(doc):
            doc = doc[int(token)]
        else:
            return "(absent)"
    return doc

def conforms(value, schema, path="", errors=None):
    errors = [] if errors is None else errors
    if value is None and schema.get("nullable"):
        return errors
    kinds = {"object": dict, "array": list, "string": str, "boolean": bool, "integer": int, "number": (int, float)}
    kind = schema.get("type")
    wrong = kind in kinds and not isinstance(value, kinds[kind])
    if wrong or (kind in ("integer", "number") and isinstance(value, bool)):
        errors.append(f"{path or '/'}: {json.dumps(value)} is not of type {kind}")
        return errors
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path or '/'}: {json.dumps(value)} is not one of {schema['enum']}")
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{path or '/'}: {json.dumps(value)} does not match {schema['pattern']}")
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", 10**9):
            errors.append(f"{path or '/'}: length {len(value)} is out of bounds")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < schema.get("minimum", -float("inf")) or value > schema.get("maximum", float("inf")):
            errors.append(f"{path or '/'}: {value} is out of bounds")
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                errors.append(f"{path}/{name}: required but absent")
        properties = schema.get("properties", {})
        for name, item in value.items():
            if name in properties:
                conforms(item, properties[name], f"{path}/{name}", errors)
            elif schema.get("additionalProperties") is False:
                errors.append(f"{path}/{name}: not allowed")
            elif isinstance(schema.get("additionalProperties"), dict):
                conforms(item, schema["additionalProperties"], f"{path}/{name}", errors)
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", 10**9):
            errors.append(f"{path or '/'}: {len(value)} items is out of bounds")
        for index, item in enumerate(value):
            conforms(item, schema.get("items", {}), f"{path}/{index}", errors)
    for choice in ("oneOf", "anyOf"):
        if choice in schema and all(conforms(value, option, path, []) for option in schema[choice]):
            errors.append(f"{path or '/'}: matches none of {choice}")
    return errors

def main():
    spec = json.loads(sys.argv[1])
    swaps = dict(arg.split("=", 1) for arg in sys.argv[2:])
    def swap(value):
        text = json.dumps(value)
        for old, new in swaps.items():
            text = text.replace(old, new)
        return json.loads(text)
    kind, step, expected = spec["kind"], spec["step"], swap(spec["expected"])
    status, body, headers, raw = load(step)
    shown = raw.decode("utf-8", "replace")[:2000]
    print(f"answer of step {step}: {status} {shown}")
    problems = []
    if kind == "status":
        for n in [step, *spec.get("also", [])]:
            got = load(n)[0]
            if got not in expected:
                problems.append(f"step {n} answered {got}, the document requires one of {expected}")
    elif kind == "json":
        for pointer, value in expected.items():
            got = status if pointer == "#status" else at(body, pointer)
            if got != value:
                problems.append(f"{pointer}: expected {json.dumps(value)}, got {json.dumps(got)}")
    elif kind in ("same", "differs", "delta"):
        other_status, other_body, _, _ = load(spec["other"])
        mine, theirs = at(body, spec["pointer"]), at(other_body, spec["pointer"])
        if kind == "same" and (status, body) != (other_status, other_body):
            problems.append(f"differs from step {spec['other']}: {other_status} {json.dumps(other_body)}")
        if kind == "differs" and mine == theirs:
            problems.append(f"{spec['pointer']} is {json.dumps(mine)} in step {spec['other']} and step {step}")
        if kind == "delta" and not (isinstance(mine, int) and isinstance(theirs, int) and mine - theirs == expected):
            problems.append(f"{spec['pointer']} moved from {theirs} to {mine}, expected a change of {expected}")
    elif kind == "schema":
        problems += conforms(at(body, spec["pointer"]), expected) if body is not None else ["the body is not JSON"]
    elif kind == "expr":
        if not eval(expected, {"body": body, "status": status, "headers": headers}):
            problems.append(f"the condition does not hold: {expected}")
    else:
        print(f"inconclusive: the suite saw {expected} and judged: {spec['what']}")
        print("compare the answer above with that judgement")
        return 3
    for problem in problems:
        print("  " + problem)
    if problems:
        print(f"FAILURE REPRODUCED: {spec['what']}")
        return 1
    print(f"not reproduced: step {step} now answers as the document requires")
    return 0

sys.exit(main())
"""


@dataclass
class Capture:
    variable: str
    value: Any
    step: int
    pointer: str


@dataclass
class Word:
    """A bash word built from literal text and shell expansions (variables, arithmetic), quoted safely."""

    parts: list[tuple[str, str]] = field(default_factory=list)  # ("text" | "shell", value)

    def text(self, value: str) -> Word:
        if value:
            self.parts.append(("text", value))
        return self

    def shell(self, value: str) -> Word:
        self.parts.append(("shell", value))
        return self

    def render(self) -> str:
        if not self.parts:
            return "''"
        out = []
        for kind, value in self.parts:
            out.append(f'"{value}"' if kind == "shell" else quote(value))
        return "".join(out)


def quote(text: str) -> str:
    """A single bash word for `text`: '...' for plain text, $'...' with \\xHH escapes for anything else."""
    if all(32 <= ord(c) < 127 for c in text):
        return "'" + text.replace("'", "'\\''") + "'"
    escaped = []
    for char in text:
        code = ord(char)
        if char in "\\'":
            escaped.append("\\" + char)
        elif 32 <= code < 127:
            escaped.append(char)
        else:
            escaped.extend(f"\\x{b:02x}" for b in char.encode("utf-8" if code > 255 else "latin-1"))
    return "$'" + "".join(escaped) + "'"


class Script:
    def __init__(self, finding: Finding, *, check: str, base_url: str, control_plane: bool, seed: int) -> None:
        self.finding = finding
        self.check = check
        self.base_url = base_url.rstrip("/")
        self.control_plane = control_plane
        self.prefix = f"{KEY_PREFIX}{seed}-"
        self.captures: dict[str, Capture] = {}  # literal (as text) -> capture
        self.clocks: dict[int, Capture] = {}  # clock readings a clock move is relative to, by exchange
        self.numbers: dict[int, int] = {}  # id(exchange) -> step number
        self.lines: list[str] = []
        self.pending: list[str] = []  # reads of captured values the next line needs
        self.read: set[str] = set()  # variables already read
        self.count = 0

    def render(self) -> str:
        finding = self.finding
        kind = "failure" if finding.kind == "failure" else "deviation"
        about = f"Decision {finding.decision.id}: {finding.decision.rule}" if finding.decision else "a documented fact"
        head = [
            "#!/usr/bin/env bash",
            f"# coverbase-contract reproduction of a {kind} of {self.check}",
            *[f"#   {line}" for line in finding.message.splitlines()[:12]],
            f"# It concerns {about}",
            "# Exit status: 1 the failure reproduced, 0 the target answers as required, 2 could not run,",
            "#              3 inconclusive (the answer is printed to compare)",
            "# Needs bash, curl and python3. Keys: $API_KEY (and $SECOND_API_KEY), never written here.",
            "set -uo pipefail",
            f'BASE_URL="${{BASE_URL:-{self.base_url}}}"',
            'if [ -z "${API_KEY:-}" ]; then echo "set API_KEY to the key of the organization under test" >&2;'
            " exit 2; fi",
        ]
        if any(e.key_role == "second" for e in finding.steps):
            head.append(
                'if [ -z "${SECOND_API_KEY:-}" ]; then echo "set SECOND_API_KEY to the key of the other organization"'
                " >&2; exit 2; fi"
            )
        head += [
            'RUN="r$(date +%s)$$"  # makes the idempotency keys and names of this replay new',
            'WORK="$(mktemp -d)"; export WORK; trap \'rm -rf "$WORK"\' EXIT',
            "step() {  # step N METHOD URL [curl options...]: the answer goes to $WORK/N.{status,headers,body}",
            '  local n="$1" method="$2" url="$3"; shift 3',
            '  if ! curl -sS -o "$WORK/$n.body" -D "$WORK/$n.headers" -w "%{http_code}" -X "$method" "$url" "$@" \\',
            '      > "$WORK/$n.status"; then',
            '    echo "step $n: $method $url could not be sent" >&2; echo 000 > "$WORK/$n.status"',
            "  fi",
            '  echo "step $n: $method $url -> $(cat "$WORK/$n.status")"',
            '  if [[ "$url" == */_mock/* && "$(cat "$WORK/$n.status")" != 2* ]]; then',
            '    echo "the control-plane step $n failed: the replay cannot be set up" >&2; exit 2',
            "  fi",
            "}",
            "values() {  # values N NAME POINTER ...: NAME=<value at POINTER of step N's JSON answer>, for eval",
            "  python3 -c 'import json, shlex, sys",
            "answer = json.load(open(sys.argv[1]))",
            "for name, pointer in zip(sys.argv[2::2], sys.argv[3::2]):",
            "    node = answer",
            '    for t in pointer.lstrip("/").split("/"): node = node[int(t)] if isinstance(node, list) else node[t]',
            '    print(f"{name}={shlex.quote(str(node))}")\' "$WORK/$1.body" "${@:2}"',
            "}",
            "clock_of() {  # clock_of N: the \"now\" of step N's answer (the mock's clock), read by bash itself",
            "  local pattern='\"now\":[[:space:]]*([0-9]+)'",
            '  if [[ "$(<"$WORK/$1.body")" =~ $pattern ]]; then echo "${BASH_REMATCH[1]}"; else',
            '    echo "step $1 did not answer the clock: the clock move cannot be replayed" >&2; exit 2; fi',
            "}",
            "cat > \"$WORK/check.py\" <<'PYTHON'",
            HELPER.strip("\n"),
            "PYTHON",
            "",
        ]
        self.lines = head
        steps = list(finding.steps)
        if self.control_plane and not any(_path(e) == "/_mock/reset" for e in steps):
            self.lines.append("# The suite starts from the mock's fixtures: so does this replay.")
            steps.insert(0, Exchange("POST", self.base_url + "/_mock/reset", {}, None, 200, {}, ""))
        self.plan(steps)
        for exchange in steps:
            self.emit(exchange)
        self.lines += ["", *self.verify()]
        return "\n".join(self.lines) + "\n"

    # Steps.

    def plan(self, steps: list[Exchange]) -> None:
        """Which answers' values a later step or the re-check uses: only those are captured (each costs a call)."""
        requests = [_request_text(e) for e in steps]
        check = self.finding.script
        expected = json.dumps(check.expected) if check is not None else ""
        self.wanted: set[str] = set()
        # A clock move is replayed relative to the earliest reading that still showed the same time (the one
        # the suite computed it from): a real second ticking later in the replay then cannot shift it.
        self.clock_readings: set[int] = set()
        self.anchors: dict[int, Exchange] = {}
        readings: list[Exchange] = []  # since the last move
        for index, exchange in enumerate(steps):
            if _is_clock_set(exchange) and readings:
                latest = readings[-1].json()["now"]
                anchor = next(r for r in readings if r.json()["now"] == latest)
                self.anchors[id(exchange)] = anchor
                self.clock_readings.add(id(anchor))
            if _is_clock_move(exchange):
                readings = []
            if _reads_clock(exchange):
                readings.append(exchange)
            later = "".join(requests[index + 1 :]) + expected
            for _, value in _candidates(exchange):
                if str(value) in later:
                    self.wanted.add(str(value))

    def emit(self, exchange: Exchange) -> None:
        if exchange.is_note:
            self.lines.append(
                "# not an HTTP step (the target ran in the suite's process): " + "; ".join(exchange.notes)
            )
            return
        self.count += 1
        number = self.count
        self.numbers[id(exchange)] = number
        parts = urlsplit(exchange.url)
        url = Word().shell("$BASE_URL")
        self.substitute(url, parts.path + (f"?{parts.query}" if parts.query else ""))
        args = [str(number), exchange.method, url.render()]
        for name, value in exchange.headers.items():
            if name in SKIPPED_HEADERS:
                continue
            if name == "authorization" and exchange.key_role in ("primary", "second"):
                variable = "$API_KEY" if exchange.key_role == "primary" else "$SECOND_API_KEY"
                args += ["-H", f'"Authorization: Bearer {variable}"']
                continue
            args += ["-H", self.substitute(Word().text(f"{name}: "), value).render()]
        lines = []
        if exchange.body is not None:
            lines.append(f"printf '%s' {self.body(exchange)} > \"$WORK/{number}.request\"")
            args += ["--data-binary", f'@"$WORK/{number}.request"']
        lines.append("step " + " ".join(args) + f"   # the suite got {exchange.status}")
        # Values are read from earlier answers just before their first use: no call between two steps that
        # do not need one (a clock move stays as close to the step before it as in the suite's run).
        self.lines += self.pending + lines
        self.pending = []
        self.capture(number, exchange)

    def body(self, exchange: Exchange) -> str:
        raw = exchange.body or b""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return quote(raw.decode("latin-1"))
        anchor = self.anchors.get(id(exchange))
        clock = self.clocks.get(id(anchor)) if anchor is not None else None
        if clock is not None:
            change = json.loads(text)
            delta = change["set"] - int(clock.value)
            self.use(clock)
            return Word().text('{"set": ').shell(f"$(({clock.variable} + {delta}))").text("}").render()
        return self.substitute(Word(), text).render()

    def substitute(self, word: Word, text: str) -> Word:
        """Append `text` to `word`, with captured values and the suite's generated names swapped for variables."""
        literals = sorted(self.captures, key=len, reverse=True)
        pattern = "|".join(
            [re.escape(self.prefix)]
            + [re.escape(v) if not v.isdigit() else rf"(?<![0-9]){v}(?![0-9])" for v in literals]
        )
        position = 0
        for match in re.finditer(pattern, text):
            word.text(text[position : match.start()])
            found = match.group(0)
            if found == self.prefix:
                word.shell(f"{self.prefix}${{RUN}}-")
            else:
                self.use(self.captures[found])
                word.shell(f"${self.captures[found].variable}")
            position = match.end()
        return word.text(text[position:])

    def capture(self, number: int, exchange: Exchange) -> None:
        fresh: list[Capture] = []
        for pointer, value in _candidates(exchange):
            literal = str(value)
            if _path(exchange).startswith("/_mock/") and pointer == "/now":
                if id(exchange) in self.clock_readings:
                    self.clocks[id(exchange)] = Capture(f"NOW{number}", value, number, pointer)
                continue
            if literal in self.captures or literal not in self.wanted:
                continue
            capture = Capture(f"V{len(self.captures) + 1}", value, number, pointer)
            self.captures[literal] = capture
            fresh.append(capture)
        if fresh:  # one call reads every value of this answer a later step uses, right after the step
            pairs = " ".join(f"{c.variable} {quote(c.pointer)}" for c in fresh)
            self.lines.append(f'eval "$(values {number} {pairs})"')
            self.read.update(c.variable for c in fresh)

    def use(self, capture: Capture) -> None:
        """Read a captured clock value from its answer (once, before the line that needs it)."""
        if capture.variable not in self.read:
            self.read.add(capture.variable)
            # A clock reading is read by bash itself, when the move needs it: no process between two steps.
            self.pending.append(f'{capture.variable}="$(clock_of {capture.step})"')

    # The re-check.

    def verify(self) -> list[str]:
        check = self.finding.script
        what = self.finding.message.splitlines()[0]
        if check is None or id(check.exchange) not in self.numbers:
            spec: dict[str, Any] = {"kind": "answer", "step": self.count, "expected": "the answer above", "what": what}
        else:
            spec = {
                "kind": check.kind,
                "step": self.numbers[id(check.exchange)],
                "expected": check.expected,
                "pointer": check.pointer,
                "other": self.numbers.get(id(check.other)) if check.other is not None else None,
                "also": [self.numbers[id(e)] for e in check.also if id(e) in self.numbers],
                "what": what,
            }
        expected = json.dumps(spec["expected"])
        used = {literal: c for literal, c in self.captures.items() if literal in expected}
        for capture in used.values():
            self.use(capture)
        swaps = [f'{quote(literal)}="${c.variable}"' for literal, c in used.items()]
        swaps.append(f'{quote(self.prefix)}="{self.prefix}${{RUN}}-"')
        before, self.pending = self.pending, []
        return [
            *before,
            "# Re-check what the suite found broken:",
            'python3 "$WORK/check.py" ' + quote(json.dumps(spec)) + " " + " ".join(swaps),
        ]


def _path(exchange: Exchange) -> str:
    return urlsplit(exchange.url).path


def _request_text(exchange: Exchange) -> str:
    return exchange.url + "".join(exchange.headers.values()) + (exchange.body or b"").decode("utf-8", "replace")


def _is_clock_set(exchange: Exchange) -> bool:
    if exchange.method != "POST" or _path(exchange) != "/_mock/clock":
        return False
    try:
        change = json.loads(exchange.body or b"")
    except ValueError:
        return False
    return isinstance(change, dict) and isinstance(change.get("set"), int) and not isinstance(change["set"], bool)


def _is_clock_move(exchange: Exchange) -> bool:
    return exchange.method == "POST" and _path(exchange) in ("/_mock/clock", "/_mock/reset")


def _reads_clock(exchange: Exchange) -> bool:
    answer = exchange.json()
    return _path(exchange).startswith("/_mock/") and isinstance(answer, dict) and isinstance(answer.get("now"), int)


def _candidates(exchange: Exchange) -> Iterator[tuple[str, Any]]:
    """(pointer, value) of the values of an answer a later step may reuse: IDs, and Unix times of `*_at`/`now`."""
    for pointer, value in _leaves(exchange.json()):
        key = pointer.rsplit("/", 1)[-1]
        is_id = isinstance(value, str) and ID_LITERAL.match(value) is not None
        is_time = isinstance(value, int) and not isinstance(value, bool) and value >= MIN_TIME
        if is_id or (is_time and TIME_KEYS.search(key)):
            yield pointer, value


def _leaves(value: Any, pointer: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{pointer}/{index}")
    else:
        yield pointer, value


def _created(exchange: Exchange) -> set[str]:
    """The IDs of the objects an exchange created (a 2xx POST's own id, run id or imported object ids)."""
    if exchange.method != "POST" or not 200 <= exchange.status < 300:
        return set()
    body = exchange.json()
    if not isinstance(body, dict):
        return set()
    results = body["results"] if isinstance(body.get("results"), list) else []
    found = [
        body.get("id"),
        body.get("workflow_run_id"),
        *(r.get("coverbase_id") for r in results if isinstance(r, dict)),
    ]
    return {i for i in found if isinstance(i, str) and ID_LITERAL.match(i)}


def complete(steps: list[Exchange], journal: list[Exchange]) -> list[Exchange]:
    """`steps` preceded by the exchanges that created the objects they use (so a script runs on a fresh target)."""
    produced: set[str] = set()
    taken = {id(e) for e in steps}
    out: list[Exchange] = []
    for exchange in steps:
        request = exchange.url + (exchange.body or b"").decode("utf-8", "replace")
        for needed in ID.findall(request):
            if needed in produced:
                continue
            origin = next((e for e in journal if id(e) not in taken and needed in _created(e)), None)
            if origin is not None:
                out.append(origin)
                taken.add(id(origin))
                produced |= _created(origin)
        out.append(exchange)
        produced |= _created(exchange)
    return out


def write_scripts(
    results: list[Any], folder: Any, *, base_url: str, control_plane: bool, seed: int, journal: list[Exchange]
) -> list[str]:
    """One script per failure, named <check>-<n>.sh; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for result in results:
        for index, finding in enumerate(result.failures, 1):
            if not finding.steps:
                continue
            text = Script(
                finding, check=result.name, base_url=base_url, control_plane=control_plane, seed=seed
            ).render()
            path = folder / f"{result.name}-{index}.sh"
            path.write_text(text, encoding="utf-8")
            path.chmod(0o755)
            written.append(str(path))
    return written


__all__ = ["Script", "ScriptCheck", "complete", "write_scripts"]

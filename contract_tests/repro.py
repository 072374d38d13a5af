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
SKIPPED_HEADERS = {"content-length", "user-agent", "accept-encoding", "connection", "accept", "host"}

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
        if status not in expected:
            problems.append(f"status {status}, the document requires one of {expected}")
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
        self.clock: Capture | None = None  # the last clock reading
        self.numbers: dict[int, int] = {}  # id(exchange) -> step number
        self.lines: list[str] = []
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
            ': "${API_KEY:?set API_KEY to the key of the organization under test}"',
        ]
        if any(e.key_role == "second" for e in finding.steps):
            head.append(': "${SECOND_API_KEY:?set SECOND_API_KEY to the key of the other organization}"')
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
            "}",
            "value() {  # value N POINTER: a value of step N's JSON answer",
            "  python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))",
            'for t in sys.argv[2].lstrip("/").split("/"): d = d[int(t)] if isinstance(d, list) else d[t]',
            'print(d)\' "$WORK/$1.body" "$2"',
            "}",
            "cat > \"$WORK/check.py\" <<'PYTHON'",
            HELPER.strip("\n"),
            "PYTHON",
            "",
        ]
        self.lines = head
        if self.control_plane and not any(_path(e) == "/_mock/reset" for e in finding.steps):
            self.lines.append("# The suite starts from the mock's fixtures: so does this replay.")
            self.emit(Exchange("POST", self.base_url + "/_mock/reset", {}, None, 200, {}, ""))
        for exchange in finding.steps:
            self.emit(exchange)
        self.lines += ["", *self.verify()]
        return "\n".join(self.lines) + "\n"

    # Steps.

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
        if exchange.body is not None:
            self.lines.append(f"printf '%s' {self.body(exchange)} > \"$WORK/{number}.request\"")
            args += ["--data-binary", f'@"$WORK/{number}.request"']
        self.lines.append("step " + " ".join(args) + f"   # the suite got {exchange.status}")
        self.capture(number, exchange)

    def body(self, exchange: Exchange) -> str:
        raw = exchange.body or b""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return quote(raw.decode("latin-1"))
        if _path(exchange) == "/_mock/clock" and self.clock is not None:
            try:
                change = json.loads(text)
            except ValueError:
                change = None
            if isinstance(change, dict) and isinstance(change.get("set"), int):
                delta = change["set"] - int(self.clock.value)
                return Word().text('{"set": ').shell(f"$(({self.clock.variable} + {delta}))").text("}").render()
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
            word.shell(f"{self.prefix}${{RUN}}-" if found == self.prefix else f"${self.captures[found].variable}")
            position = match.end()
        return word.text(text[position:])

    def capture(self, number: int, exchange: Exchange) -> None:
        answer = exchange.json()
        for pointer, value in _leaves(answer):
            key = pointer.rsplit("/", 1)[-1]
            is_id = isinstance(value, str) and ID_LITERAL.match(value) is not None
            is_time = (
                isinstance(value, int) and not isinstance(value, bool) and value >= MIN_TIME and TIME_KEYS.search(key)
            )
            if not (is_id or is_time):
                continue
            literal = str(value)
            if _path(exchange).startswith("/_mock/") and key == "now":
                variable = f"NOW{number}"
                self.lines.append(f'{variable}="$(value {number} {quote(pointer)})"')
                self.clock = Capture(variable, value, number, pointer)
                continue
            if literal in self.captures:
                continue
            variable = f"V{len(self.captures) + 1}"
            self.captures[literal] = Capture(variable, value, number, pointer)
            self.lines.append(f'{variable}="$(value {number} {quote(pointer)})"')

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
                "what": what,
            }
        swaps = [f'{quote(literal)}="${c.variable}"' for literal, c in self.captures.items()]
        swaps.append(f'{quote(self.prefix)}="{self.prefix}${{RUN}}-"')
        return [
            "# Re-check what the suite found broken:",
            'python3 "$WORK/check.py" ' + quote(json.dumps(spec)) + " " + " ".join(swaps),
        ]


def _path(exchange: Exchange) -> str:
    return urlsplit(exchange.url).path


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

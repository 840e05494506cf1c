"""Every command the docs tell someone to run exists: each gate in the playbook names a real one.

The docs name ``strangler ...`` commands in shell code blocks and in inline code, and ``make``
targets in both. This test reads README.md and every Markdown file under docs/ and checks each
mention against the real click tree (``strangler_cli.main.cli``) and the Makefile:

- the command path exists (``strangler routes set``, not ``strangler routes flip``);
- every ``--option`` it names exists on that command;
- in a shell code block, where a command is complete and meant to be pasted, also: each
  option's value is given (flags take none), a literal value of a choice is one of the choices,
  no argument is missing or left over, and every required option is present (``--reason``).

A command is found where a shell would run it: as the first word (a path like
``.venv/bin/strangler`` included, ``VAR=value`` before it skipped), after ``&&``, ``;``, ``|`` or
``$(``, or after a wrapper such as ``docker compose exec proxy`` -- never as an option's value
(``psql -U strangler`` names a user, not the command).

Inline code is often notation rather than a command line, so there ``a|b`` names alternatives
(``strangler dlq list|replay``: both must exist; an option must exist on one of them),
``<name>`` and ``...`` are placeholders (``strangler <group> <command>`` names nothing), and
``[--opt]`` is an optional option. Mermaid blocks are diagrams, not commands, and are skipped.

The checker is tested on made-up commands at the bottom: a check that cannot fail proves nothing.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

from strangler_cli.main import cli
from tests.conftest import REPO

DOCS = sorted([REPO / "README.md", *(REPO / "docs").rglob("*.md")])
SHELL_LANGUAGES = frozenset({"", "sh", "bash", "shell", "console", "zsh"})
SKIPPED_LANGUAGES = frozenset({"mermaid"})
PLACEHOLDER = "PLACEHOLDER"
_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")
_INLINE = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)
PROGRAMS = frozenset({"strangler", "make"})
WRAPPERS = frozenset({"docker", "docker-compose", "podman", "kubectl", "env", "sudo", "time",
                      "nohup", "exec"})
_ANGLED = re.compile(r"<[^<>\s]+>")
_ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_SEPARATORS = frozenset({"&&", "||", "|", ";", "&", "(", ")", "$(", ">", ">>", "<", "2>"})


@dataclass(frozen=True, slots=True)
class Mention:
    """One command line (a code block's) or one inline code span, and where it is."""

    line: int
    text: str
    in_block: bool


def mentions(markdown: str) -> Iterator[Mention]:
    """Shell lines of code blocks (continuations joined) and inline code spans elsewhere."""
    prose: list[str] = []
    lines = markdown.splitlines()
    n = 0
    while n < len(lines):
        fence = _FENCE.match(lines[n])
        if fence is None:
            prose.append(lines[n])
            n += 1
            continue
        marker, language = fence.group(2), fence.group(3).lower()
        start, n = n, n + 1
        body: list[tuple[int, str]] = []
        while n < len(lines) and not lines[n].strip().startswith(marker):
            body.append((n + 1, lines[n]))
            n += 1
        n += 1
        prose.extend("" for _ in range(n - start))  # keep line numbers of the prose
        if language in SKIPPED_LANGUAGES:
            continue
        if language in SHELL_LANGUAGES:
            yield from _shell_lines(body)
        else:
            yield from (Mention(number, text, False) for number, text in body)
    text = "\n".join(prose)
    for paragraph_start, paragraph in _paragraphs(text):
        for match in _INLINE.finditer(paragraph):
            line = paragraph_start + paragraph.count("\n", 0, match.start())
            yield Mention(line, " ".join(match.group(2).split()), False)


def _paragraphs(text: str) -> Iterator[tuple[int, str]]:
    """Blocks of text between blank lines (code spans never cross them), with first lines."""
    line = 1
    for block in re.split(r"(\n(?:[ \t]*\n)+)", text):
        if block.strip():
            yield line, block
        line += block.count("\n")


def _shell_lines(body: list[tuple[int, str]]) -> Iterator[Mention]:
    joined, first = "", 0
    for number, text in body:
        text = text.removeprefix("$ ") if not joined else text
        first = first or number
        if text.rstrip().endswith("\\"):
            joined += text.rstrip()[:-1] + " "
            continue
        yield Mention(first, joined + text, True)
        joined, first = "", 0
    if joined:
        yield Mention(first, joined, True)


def problems_in(markdown: str) -> list[str]:
    """Every problem with the commands ``markdown`` names, as ``line N: ...``."""
    found: list[str] = []
    for mention in mentions(markdown):
        for problem in _check(mention):
            found.append(f"line {mention.line}: `{mention.text.strip()}`: {problem}")
    return found


def _check(mention: Mention) -> list[str]:
    if mention.in_block:
        commands, strict = list(_shell_commands(mention.text)), True
    else:
        commands, strict = list(_notation_commands(mention.text.replace("\\|", "|"))), False
    problems: list[str] = []
    for words in commands:
        found = _program(words)
        if found is None:
            continue
        program, arguments = found
        if program == "strangler":
            problems += _check_strangler(arguments, strict=strict)
        else:
            problems += _check_make(arguments)
    return problems


def _program(words: list[str]) -> tuple[str, list[str]] | None:
    """``strangler`` or ``make`` and its arguments, if this simple command runs one, directly or
    through a wrapper (``docker compose exec proxy strangler status``)."""
    head = words[0].rsplit("/", 1)[-1]
    if head in PROGRAMS:
        return head, words[1:]
    if head not in WRAPPERS:
        return None
    for n in range(1, len(words)):
        name, previous = words[n].rsplit("/", 1)[-1], words[n - 1]
        is_a_value = previous.startswith("-") and previous != "--" and "=" not in previous
        if name in PROGRAMS and not is_a_value:
            return name, words[n + 1:]
    return None


def _shell_commands(line: str) -> Iterator[list[str]]:
    """The simple commands of a shell line: words split at operators, without assignments."""
    lexer = shlex.shlex(_ANGLED.sub(PLACEHOLDER, line), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        words = list(lexer)
    except ValueError as exc:  # unbalanced quotes
        raise AssertionError(f"cannot split the shell line {line!r}: {exc}") from exc
    yield from _split_commands(words)


def _notation_commands(text: str) -> Iterator[list[str]]:
    """Inline notation: words split at operators (a ``|`` inside a word is an alternative),
    with the brackets of optional parts removed."""
    try:
        lexer = shlex.shlex(text, posix=True)
        lexer.whitespace_split = True
        lexer.commenters = ""
        raw = list(lexer)
    except ValueError:  # prose with an apostrophe
        raw = text.split()
    words: list[str] = []
    for word in raw:
        for opener in ("$(", "("):
            if word.startswith(opener) and len(word) > len(opener):
                words.append(opener)
                word = word[len(opener):]
        word = word.strip("[])")
        if word:
            words.append(word)
    yield from _split_commands(words)


def _split_commands(words: list[str]) -> Iterator[list[str]]:
    command: list[str] = []
    for word in [*words, ";"]:
        if word in _SEPARATORS or set(word) <= set("();<>|&"):
            while command and _ENV_ASSIGNMENT.match(command[0]):
                command.pop(0)
            if command:
                yield command
            command = []
        else:
            command.append(word)


def _is_placeholder(word: str) -> bool:
    return (word.startswith("<") or word in ("...", "…", PLACEHOLDER) or "$" in word
            or word.isupper())


def _check_strangler(words: list[str], *, strict: bool) -> list[str]:
    """Walk ``words`` down the click tree from the root; what does not exist."""
    return _walk([cli], ["strangler"], words, strict)


def _walk(commands: list[click.Command], path: list[str], words: list[str],
          strict: bool) -> list[str]:
    """``commands`` are alternatives at the same place (``list|replay``); one for a shell line."""
    current = commands[0]
    if isinstance(current, click.Group):
        rest = list(words)
        while rest and rest[0].startswith("-"):
            word = rest.pop(0)
            if word in ("-h", "--help"):
                return []
            option = _option(current, word)
            if option is None:
                return [f"{' '.join(path)} has no option {word}"]
            if not option.is_flag and "=" not in word and rest:
                rest.pop(0)
        if not rest or (not strict and _is_placeholder(rest[0])):
            return [f"`{' '.join(path)}` needs a command"] if strict else []
        names = rest[0].split("|") if not strict else [rest[0]]
        found: list[click.Command] = []
        for name in names:
            sub = current.get_command(click.Context(current), name)
            if sub is None:
                return [f"{' '.join(path)} has no command {name!r} (it has: "
                        f"{', '.join(current.list_commands(click.Context(current)))})"]
            found.append(sub)
        if len({isinstance(c, click.Group) for c in found}) > 1:
            return [f"{rest[0]} mixes groups and commands"]
        return _walk(found, [*path, rest[0]], rest[1:], strict)
    return _check_leaf(commands, path, words, strict)


def _option(command: click.Command, word: str) -> click.Option | None:
    name = word.split("=", 1)[0]
    for param in command.params:
        if isinstance(param, click.Option) and name in (*param.opts, *param.secondary_opts):
            return param
    return None


def _check_leaf(commands: list[click.Command], path: list[str], words: list[str],
                strict: bool) -> list[str]:
    where = " ".join(path)
    if not strict:
        return [f"{where} has no option {w.split('=', 1)[0]}" for w in words
                if w.startswith("-") and len(w) > 1 and w not in ("-h", "--help")
                and all(_option(c, w) is None for c in commands)]
    command = commands[0]
    if "--help" in words or "-h" in words:
        return [f"{where} has no option {w}" for w in words
                if w.startswith("-") and w not in ("-h", "--help") and _option(command, w) is None]
    problems: list[str] = []
    given: set[str] = set()
    positionals: list[str] = []
    rest = list(words)
    while rest:
        word = rest.pop(0)
        if word == "--":
            positionals += rest
            break
        if not word.startswith("-") or word == "-":
            positionals.append(word)
            continue
        option = _option(command, word)
        if option is None:
            problems.append(f"{where} has no option {word.split('=', 1)[0]}")
            continue
        given.add(option.name or "")
        if option.is_flag or option.count:
            continue
        if "=" in word:
            value: str | None = word.split("=", 1)[1]
        else:
            value = rest.pop(0) if rest and not rest[0].startswith("--") else None
        if value is None:
            problems.append(f"{word} needs a value")
        else:
            problems += _choice_problems(option, value, word)
    for option in command.params:
        if isinstance(option, click.Option) and option.required and option.name not in given:
            problems.append(f"{where} needs {option.opts[-1]}")
    arguments = [p for p in command.params if isinstance(p, click.Argument)]
    unbounded = any(a.nargs < 0 for a in arguments)
    needed = sum(a.nargs for a in arguments if a.required and a.nargs > 0)
    if len(positionals) < needed:
        names = " ".join((a.name or "").upper() for a in arguments)
        problems.append(f"{where} needs {needed} argument(s) ({names})")
    elif not unbounded and len(positionals) > sum(a.nargs for a in arguments):
        problems.append(f"{where} got unexpected argument(s) {positionals}")
    for argument, value in zip(arguments, positionals, strict=False):
        problems += _choice_problems(argument, value, (argument.name or "").upper())
    return problems


def _choice_problems(param: click.Parameter, value: str, name: str) -> list[str]:
    if not isinstance(param.type, click.Choice) or _is_placeholder(value):
        return []
    if value in param.type.choices:
        return []
    return [f"{name} {value!r} is not one of {', '.join(map(str, param.type.choices))}"]


def makefile_targets() -> set[str]:
    """The Makefile's explicit targets."""
    text = (REPO / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z0-9][\w.-]*)\s*:(?!=)", text, re.MULTILINE))


def _check_make(words: list[str]) -> list[str]:
    targets = [w for w in words if not w.startswith("-") and not _ENV_ASSIGNMENT.match(w)
               and not _is_placeholder(w)]
    known = makefile_targets()
    return [f"the Makefile has no target {t!r}" for t in targets if t not in known]


# -- the docs ------------------------------------------------------------------------------


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_command_a_doc_names_exists(doc: Path) -> None:
    problems = problems_in(doc.read_text())
    assert not problems, f"{doc.relative_to(REPO)}:\n" + "\n".join(problems)


def test_the_docs_are_read_at_all() -> None:
    """A checker that finds no command would pass on anything."""
    names = {p.relative_to(REPO).as_posix() for p in DOCS}
    assert {"README.md", "docs/playbook.md", "docs/architecture.md",
            "docs/runbooks/README.md"} <= names
    playbook = list(mentions((REPO / "docs" / "playbook.md").read_text()))
    assert sum(1 for m in playbook if m.in_block and "strangler" in m.text) >= 15
    assert sum(1 for m in playbook if not m.in_block and "strangler " in m.text) >= 40
    for runbook in (REPO / "docs" / "runbooks").glob("*.md"):
        if runbook.name != "README.md":
            assert any(m.in_block and "strangler" in m.text
                       for m in mentions(runbook.read_text())), runbook.name


# -- the checker, on made-up commands ------------------------------------------------------


def _block(*lines: str) -> str:
    return "\n".join(["Text.", "", "```sh", *lines, "```", ""])


def test_real_commands_pass() -> None:
    doc = _block(
        "strangler db upgrade all",
        "strangler routes set products-read --methods GET,HEAD --path '/api/products/{id}' \\",
        "  --mode shadow --service catalog --reason \"shadow the reads\"   # a comment",
        "STRANGLER_ADMIN_URL=http://127.0.0.1:8001 strangler routes list --json | jq .",
        ".venv/bin/strangler contracts verify --provider catalog --no-record && make contracts",
        "strangler dlq replay catalog --id \"$EVENT_ID\"",
        "strangler routes history --route products-read --limit 5",
        "strangler run relay monolith --metrics-port 9101",
        "strangler ownership move <context> --to catalog --reason why",
        "strangler routes set --help",
    ) + ("Inline: `strangler dlq list|replay <consumer>`, `strangler run proxy [--workers N]`, "
         "`strangler ownership show|move <context> --to <side>`, `strangler <group> <command>`, "
         "the `strangler_cli` package, `make lint`, `strangler run relay|consumer`, "
         "`docker compose exec postgres psql -U strangler monolith`, `strangler`/`strangler`, "
         "`.venv/bin/strangler contracts verify`, `echo $(strangler status)`.\n")
    doc += _block("docker compose exec proxy strangler ownership move notifications "
                  "--to notifications --reason \"...\"",
                  "docker compose exec postgres psql -U strangler monolith")
    assert problems_in(doc) == []


@pytest.mark.parametrize(("doc", "expected"), [
    (_block("strangler routes teleport products-read --reason x"), "no command 'teleport'"),
    (_block("strangler routes set products-read --mode canary --telepathy --reason x"),
     "has no option --telepathy"),
    (_block("strangler routes set products-read \\", "  --mode legacy --telepathy=1"),
     "has no option --telepathy"),
    (_block("strangler routes set products-read --mode legacy"), "needs --reason"),
    (_block("strangler routes set products-read --mode sideways --reason x"),
     "'sideways' is not one of"),
    (_block("strangler run relay proxy"), "'proxy' is not one of"),
    (_block("strangler dlq list"), "needs 1 argument(s) (CONSUMER)"),
    (_block("strangler reconcile catalog notifications"), "unexpected argument(s)"),
    (_block("strangler routes rollback products-read --reason"), "--reason needs a value"),
    (_block("strangler routes"), "needs a command"),
    (_block("make deploy-to-mars"), "no target 'deploy-to-mars'"),
    ("Run `strangler dlq purge catalog` first.\n", "no command 'purge'"),
    ("Run `strangler dlq list|purge` first.\n", "no command 'purge'"),
    ("Then `strangler reconcile <context> [--fix]`.\n", "has no option --fix"),
    ("A span over\ntwo lines: `strangler routes\nflip products-read`.\n", "no command 'flip'"),
    ("Then `make deploy-to-mars`.\n", "no target 'deploy-to-mars'"),
    (_block("strangler db upgrade all") + "\n\nRight after a block: `strangler dlq lst catalog`.\n",
     "no command 'lst'"),
    (_block("docker compose exec -T proxy strangler routes flip x --reason y"),
     "no command 'flip'"),
    (_block("docker compose exec proxy strangler routes set x --mode legacy"), "needs --reason"),
    ("Run `docker compose exec proxy strangler dlq purge catalog`.\n", "no command 'purge'"),
    ("Run `echo $(strangler teleport)`.\n", "no command 'teleport'"),
    ("Run `strangler status && strangler teleport`.\n", "no command 'teleport'"),
])
def test_made_up_commands_fail(doc: str, expected: str) -> None:
    problems = problems_in(doc)
    assert any(expected in p for p in problems), problems


def test_problems_name_their_line() -> None:
    doc = "# Title\n\n" + _block("strangler db upgrade all", "strangler routes flip x")
    assert problems_in(doc) == [
        "line 7: `strangler routes flip x`: strangler routes has no command 'flip' (it has: "
        "delete, export, history, import, list, rollback, set, show)"]


def test_inline_code_after_a_block_names_its_line() -> None:
    doc = _block("strangler db upgrade all") + "\n\n\nThen `strangler routes flip x`.\n"
    assert [p.split(":")[0] for p in problems_in(doc)] == ["line 9"]


def test_mermaid_blocks_are_not_commands() -> None:
    assert problems_in("```mermaid\nflowchart LR\n  A[strangler teleport] --> B\n```\n") == []

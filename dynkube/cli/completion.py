"""Shell completion: ``dynkube completion bash|zsh|fish`` prints a script whose function asks
``dynkube __complete WORD...`` for the candidates of the last word.

Commands, subcommands, flags and flag choices come from the parser itself; resource types from the
resource map (the discovery cache when it is warm); object names, namespaces and contexts are looked
up when asked for. A completion never prints an error: what cannot be found is no candidate.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import Any

import dynkube

from .context import Context
from .flags import ValueAfterEquals
from .options import AddCommand

TYPE_COMMANDS = {"get", "delete", "edit", "explain"}  # their first positional is a resource type
CONTEXT_COMMANDS = {"config use-context", "config set-context", "config get-contexts"}
NAMESPACE_FLAGS = {"-n", "--namespace"}
CONTEXT_FLAGS = {"--context"}

SCRIPTS = {
    "bash": """# dynkube completion for bash: source <(dynkube completion bash)
_dynkube() {
    local IFS=$'\\n'
    local cur="${COMP_WORDS[COMP_CWORD]}"
    COMPREPLY=($(compgen -W "$(dynkube __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)" -- "$cur"))
}
complete -o default -F _dynkube dynkube
""",
    "zsh": """#compdef dynkube
# dynkube completion for zsh: source <(dynkube completion zsh)
_dynkube() {
    local -a candidates
    candidates=("${(@f)$(dynkube __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
    compadd -- ${candidates:#}
}
compdef _dynkube dynkube
""",
    "fish": """# dynkube completion for fish: dynkube completion fish | source
function __dynkube_complete
    set -l words (commandline -opc) (commandline -ct)
    dynkube __complete $words[2..-1] 2>/dev/null
end
complete -c dynkube -f -a '(__dynkube_complete)'
""",
}


def register(command: AddCommand, sub: Any) -> None:
    """Add ``completion`` and the hidden ``__complete`` (``sub`` is the parser's subcommand action)."""
    p = command("completion", completion, "Print the shell completion script for bash, zsh or fish.",
                "examples:\n  source <(dynkube completion bash)     # in ~/.bashrc\n"
                "  source <(dynkube completion zsh)      # in ~/.zshrc, after compinit\n"
                "  dynkube completion fish > ~/.config/fish/completions/dynkube.fish")
    p.add_argument("shell", choices=sorted(SCRIPTS), metavar="SHELL", help="bash, zsh or fish")
    hidden = sub.add_parser("__complete", add_help=False, prefix_chars="\x01")  # every word is a word
    hidden.add_argument("words", nargs="*")
    hidden.set_defaults(handler=complete)


def completion(ctx: Context) -> int:
    ctx.out.write(SCRIPTS[ctx.args.shell])
    return 0


def complete(ctx: Context) -> int:
    words = list(ctx.args.words) or [""]
    try:
        found = candidates(ctx.parser, words[:-1], words[-1])
    except Exception:  # a completion must never print an error into the user's command line
        found = []
    for candidate in found:
        ctx.print(candidate)
    return 0


def candidates(parser: argparse.ArgumentParser, done: list[str], current: str) -> list[str]:
    """The completions of ``current`` after the words ``done`` (the program name not included)."""
    options = _global_options(done)
    command: list[str] = []
    positionals: list[str] = []
    expecting: argparse.Action | None = None  # the option whose value the next word is
    after_equals: argparse.Action | None = None  # the option whose value follows an "=" word
    for word in done:
        if expecting is not None:
            if word != "=":  # bash splits --flag=value at the "=" (COMP_WORDBREAKS): the value is next
                expecting = None
            continue
        if word == "=" and after_equals is not None:
            expecting = after_equals
            continue
        action = _option(parser, word)
        after_equals = None
        if action is not None:
            if action.nargs != 0 and "=" not in word:
                if isinstance(action, ValueAfterEquals):  # --cascade alone takes no value
                    after_equals = action
                else:
                    expecting = action
            continue
        subcommands = _subcommands(parser)
        if subcommands and word in subcommands:
            parser = subcommands[word]
            command.append(word)
        elif not word.startswith("-"):
            positionals.append(word)
    if expecting is not None:
        return _matching(_values(expecting, options), current)
    if current.startswith("-"):
        return _matching(_flags(parser), current)
    subcommands = _subcommands(parser)
    if subcommands and not positionals:
        return _matching([name for name in subcommands if not name.startswith("_")], current)
    return _matching(_positionals(parser, " ".join(command), positionals, options), current)


def _positionals(parser: argparse.ArgumentParser, command: str, positionals: list[str],
                 options: dict[str, str | None]) -> list[str]:
    declared = [a for a in parser._actions if not a.option_strings]
    if len(positionals) < len(declared) and declared[len(positionals)].choices:
        return [str(choice) for choice in declared[len(positionals)].choices or ()]
    if command in CONTEXT_COMMANDS:
        return _contexts(options)
    if command.split(" ")[0] not in TYPE_COMMANDS:
        return []
    if not positionals:
        return _resource_names(options)
    if command == "explain" or "/" in positionals[0]:
        return []
    return _object_names(options, positionals[0])


def _global_options(done: list[str]) -> dict[str, str | None]:
    """--kubeconfig, --context and -n as given so far, for the lookups."""
    found: dict[str, str | None] = {"kubeconfig": None, "context": None, "namespace": None}
    names = {"--kubeconfig": "kubeconfig", "--context": "context", "-n": "namespace", "--namespace": "namespace"}
    for index, word in enumerate(done):
        flag, sep, value = word.partition("=")
        if flag in names:
            found[names[flag]] = value if sep else (done[index + 1] if index + 1 < len(done) else None)
    return found


def _client(options: dict[str, str | None]) -> dynkube.Client:
    return dynkube.Client(kubeconfig=options["kubeconfig"], context=options["context"],
                          namespace=options["namespace"], timeout=5)


def _resource_names(options: dict[str, str | None]) -> list[str]:
    with _client(options) as client:
        names: set[str] = set()
        for r in client.api_map(cached=True).resources:
            names.update([r.plural, r.singular, *r.short_names, r.group_resource] if r.singular else
                         [r.plural, *r.short_names, r.group_resource])
    return sorted(n for n in names if n and "/" not in n)


def _object_names(options: dict[str, str | None], resource_type: str) -> list[str]:
    with _client(options) as client:
        names: list[str] = []
        for name in resource_type.split(","):
            rc = client.resource(name)
            names += [str(obj.metadata.name) for obj in rc.list(options["namespace"])]
    return sorted(set(names))


def _contexts(options: dict[str, str | None]) -> list[str]:
    return [c.name for c in dynkube.KubeconfigFiles.load(options["kubeconfig"]).contexts()]


def _values(action: argparse.Action, options: dict[str, str | None]) -> list[str]:
    if action.choices:
        return [str(choice) for choice in action.choices]
    strings = set(action.option_strings)
    if strings & NAMESPACE_FLAGS:
        return _object_names({**options, "namespace": None}, "namespaces")
    if strings & CONTEXT_FLAGS:
        return _contexts(options)
    return []


def _option(parser: argparse.ArgumentParser, word: str) -> argparse.Action | None:
    flag = word.partition("=")[0]
    return next((a for a in parser._actions if flag in a.option_strings), None) if word.startswith("-") else None


def _flags(parser: argparse.ArgumentParser) -> list[str]:
    return sorted(s for a in parser._actions if a.help != argparse.SUPPRESS for s in a.option_strings
                  if s.startswith("--") or len(s) == 2)


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _matching(words: Iterable[str], prefix: str) -> list[str]:
    return [w for w in words if w.startswith(prefix)]

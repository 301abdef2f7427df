"""``dynkube auth whoami`` and ``dynkube auth can-i``, over ``dynkube.access``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import dynkube

from .context import CommandFailed, Context, UsageError
from .options import AddCommand, add_global_options
from .parsing import CommandParser
from .printing import dump_json, dump_yaml, format_table


def register(command: AddCommand) -> None:
    """Add ``auth`` and its subcommands."""
    auth = command("auth", _no_subcommand, "Who the server says you are, and what you may do.",
                   "examples:\n  dynkube auth whoami\n  dynkube auth can-i create deployments -n web\n"
                   "  dynkube auth can-i get pods --subresource=log\n  dynkube auth can-i --list")
    sub = auth.add_subparsers(dest="auth_command", metavar="SUBCOMMAND", parser_class=CommandParser)
    p = sub.add_parser("whoami", help="The user, uid, groups and extra the server sees (SelfSubjectReview).",
                       description="The user, uid, groups and extra the server sees (SelfSubjectReview).")
    add_global_options(p, False)
    p.set_defaults(handler=whoami, command="auth whoami")
    p.add_argument("-o", "--output", choices=("json", "yaml"), help="the SelfSubjectReview itself")
    p = sub.add_parser("can-i", help="Whether an action is allowed: yes (exit 0) or no (exit 1).",
                       description="Whether an action is allowed: yes (exit 0) or no (exit 1). VERB is an API verb "
                                   "(get, list, create, ...); TYPE any resource name (or '*'), or a URL path (/logs).")
    add_global_options(p, False)
    p.set_defaults(handler=can_i, command="auth can-i")
    p.add_argument("verb", nargs="?", metavar="VERB")
    p.add_argument("target", nargs="?", metavar="TYPE[/NAME] | URL")
    p.add_argument("name", nargs="?", metavar="NAME")
    p.add_argument("-A", "--all-namespaces", action="store_true", help="in every namespace")
    p.add_argument("--subresource", metavar="NAME", help="a subresource such as log or scale")
    p.add_argument("-q", "--quiet", action="store_true", help="no output, only the exit code")
    p.add_argument("--list", action="store_true", help="every action allowed (SelfSubjectRulesReview)")
    p.add_argument("--no-headers", action="store_true", help="with --list: omit the header line")


def _no_subcommand(ctx: Context) -> int:
    raise UsageError("auth needs a subcommand: whoami or can-i")


def whoami(ctx: Context) -> int:
    identity = dynkube.whoami(ctx.client)
    if ctx.args.output:
        ctx.out.write(dump_json(identity.review) if ctx.args.output == "json" else dump_yaml(identity.review))
        return 0
    rows = [["Username", identity.username]]
    if identity.uid:
        rows.append(["UID", identity.uid])
    if identity.groups:
        rows.append(["Groups", _go_list(identity.groups)])
    rows += [[f"Extra: {key}", _go_list(values)] for key, values in sorted(identity.extra.items())]
    for line in format_table(["ATTRIBUTE", "VALUE"], rows):
        ctx.print(line)
    return 0


def can_i(ctx: Context) -> int:
    args = ctx.args
    if args.list:
        if args.quiet or args.all_namespaces or args.subresource or args.verb:
            raise UsageError("--list takes no VERB or TYPE, and neither --quiet, --all-namespaces nor --subresource")
        return _list(ctx)
    if args.no_headers:
        raise UsageError("--no-headers cannot be set without --list specified")
    if not args.verb or not args.target:
        raise UsageError("you must specify two arguments: VERB TYPE[/NAME] (or VERB URL), or --list")
    decision = dynkube.can_i(ctx.client, args.verb, args.target, args.name, namespace=ctx.args.namespace,
                            all_namespaces=args.all_namespaces, subresource=args.subresource)
    if not args.quiet:
        ctx.print("yes" if decision.allowed else "".join(
            ["no", f" - {decision.reason}" if decision.reason else "",
             f" - {decision.evaluation_error}" if decision.evaluation_error else ""]))
    if not decision.allowed:
        raise CommandFailed
    return 0


def _list(ctx: Context) -> int:
    review = dynkube.rules(ctx.client, ctx.args.namespace)
    if review.incomplete:
        ctx.error(f"warning: the list may be incomplete: {review.evaluation_error}")
    rows = [[_resource_group(rule.get("resources") or [], rule.get("apiGroups") or []),
             _go_list(rule.get("nonResourceURLs") or []), _go_list(rule.get("resourceNames") or []),
             _go_list(rule.get("verbs") or [])] for rule in rule_rows(review)]
    for line in format_table(None if ctx.args.no_headers else ["Resources", "Non-Resource URLs", "Resource Names",
                                                               "Verbs"], rows):
        ctx.print(line)
    return 0


def rule_rows(review: dynkube.RulesReview) -> list[dict[str, list[str]]]:
    """kubectl's rows of ``can-i --list``: each rule broken down to one group, resource, verb (and name),
    rules that then differ only by verb joined again, in the order of their Go text (verbs first)."""
    pieces: list[dict[str, list[str]]] = []
    for rule in review.resource_rules:
        names = rule.get("resourceNames") or [None]
        pieces += [{"verbs": [verb], "apiGroups": [group], "resources": [resource],
                    "resourceNames": [name] if name else []}
                   for group in rule.get("apiGroups") or [] for resource in rule.get("resources") or []
                   for verb in rule.get("verbs") or [] for name in names]
    for rule in review.non_resource_rules:
        pieces += [{"verbs": [verb], "nonResourceURLs": [url]}
                   for url in rule.get("nonResourceURLs") or [] for verb in rule.get("verbs") or []]
    compacted: list[dict[str, list[str]]] = []
    simple: dict[tuple[str, str, str], dict[str, list[str]]] = {}
    for piece in pieces:
        if "resources" not in piece or len(piece["resourceNames"]) > 1:
            compacted.append(piece)
            continue
        key = (piece["apiGroups"][0], piece["resources"][0], "".join(piece["resourceNames"]))
        if key in simple:
            simple[key]["verbs"] += [v for v in piece["verbs"] if v not in simple[key]["verbs"]]
        else:
            simple[key] = {k: list(v) for k, v in piece.items()}
    compacted += simple.values()
    return sorted(compacted, key=_go_text)


def _go_text(rule: Mapping[str, list[str]]) -> str:
    """The rule as Go's PolicyRule.String() writes it, which kubectl sorts by."""
    fields = (("Verbs", "verbs"), ("APIGroups", "apiGroups"), ("Resources", "resources"),
              ("ResourceNames", "resourceNames"), ("NonResourceURLs", "nonResourceURLs"))
    return "&PolicyRule{" + "".join(f"{go}:{_go_list(rule.get(key) or [])}," for go, key in fields) + "}"


def _resource_group(resources: list[str], groups: list[str]) -> str:
    if not resources:
        return ""
    resource, _, sub = resources[0].partition("/")
    text = f"{resource}.{groups[0]}" if groups and groups[0] else resource
    return f"{text}/{sub}" if sub else text


def _go_list(values: Iterable[Any]) -> str:
    return "[" + " ".join(str(v) for v in values) + "]"

"""``dynkube edit TYPE NAME``: the object in the user's editor, written back with a PUT of the edited
object (its resourceVersion kept, so a change made meanwhile is a conflict, not overwritten).

As kubectl: ``$KUBE_EDITOR``, else ``$EDITOR``, else ``vi``; comment lines are dropped; an empty or
unchanged buffer sends nothing; an answer the server rejects re-opens the buffer with the error at the top.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from typing import Any

import dynkube

from .context import CommandFailed, Context, UsageError, one_line
from .get import is_type_name
from .options import AddCommand
from .printing import dump_json, dump_yaml, qualified_kind, without_managed_fields

HEADER = ("# Please edit the object below. Lines beginning with a '#' will be ignored,\n"
          "# and an empty file will abort the edit. If an error occurs while saving this file will be\n"
          "# reopened with the relevant failures.\n#\n")
REOPENED = (dynkube.BadRequest, dynkube.Invalid, dynkube.UnsupportedMediaType)


def register(command: AddCommand) -> None:
    p = command("edit", edit, "Edit an object of any kind in your editor ($KUBE_EDITOR, $EDITOR or vi).",
                "examples:\n  dynkube edit configmap web\n  dynkube edit deploy/web -n prod\n"
                "  KUBE_EDITOR='code --wait' dynkube edit gizmo g1 -o json")
    p.set_defaults(mutates=True)
    p.add_argument("targets", nargs="+", metavar="TYPE NAME | TYPE/NAME")
    p.add_argument("-o", "--output", choices=("yaml", "json"), default="yaml", help="edit as yaml (default) or json")
    p.add_argument("--field-manager", default="dynkube-edit", metavar="NAME",
                   help="field manager (default dynkube-edit)")


def _target(ctx: Context) -> tuple[dynkube.ResourceClient, str]:
    targets = ctx.args.targets
    if len(targets) == 1 and is_type_name(targets[0]):
        kind, _, name = targets[0].rpartition("/")
    elif len(targets) == 2 and not is_type_name(targets[0]):
        kind, name = targets
    else:
        raise UsageError("edit takes one object: TYPE NAME or TYPE/NAME")
    if not name:
        raise UsageError(f"missing name in {targets[0]!r}")
    return ctx.client.resource(kind), name


def edit(ctx: Context) -> int:
    rc, name = _target(ctx)
    original = without_managed_fields(rc.get(name, ctx.args.namespace))
    dump = dump_json if ctx.args.output == "json" else dump_yaml
    editor = _editor()
    buffer = HEADER + dump(original)
    rejected: Any = None
    while True:
        edited_text = _run_editor(editor, buffer, ctx.args.output)
        content = "".join(line for line in edited_text.splitlines(keepends=True) if not line.lstrip().startswith("#"))
        if not content.strip():
            return _cancelled(ctx)
        try:
            edited = _parse(content)
        except ValueError as exc:
            buffer = HEADER + _comment(f"The edited file had a syntax error: {exc}") + content
            if edited_text == rejected:
                return _gave_up(ctx, content)
            rejected = edited_text
            continue
        if edited == original:
            return _cancelled(ctx)
        if edited == rejected:
            return _gave_up(ctx, content)
        try:
            saved = rc.replace(edited, ctx.args.namespace, name=name, field_manager=ctx.args.field_manager)
        except REOPENED as exc:
            buffer = HEADER + _comment(_invalid(exc, rc, name)) + content
            rejected = edited
            continue
        except dynkube.DynkubeError as exc:
            copy = _keep(content, ctx.args.output)
            if isinstance(exc, dynkube.Conflict):
                ctx.error(f"error: {rc.plural} {name!r} was changed on the server since the editor opened it, and "
                          f"was not saved; your version is in {copy}: edit the object again and re-apply your change")
                raise CommandFailed from None
            ctx.error(f'A copy of your changes has been stored to "{copy}"')
            raise
        ctx.print(f"{qualified_kind(str(saved.get('apiVersion')), str(saved.get('kind')))}/{name} edited")
        return 0


def _editor() -> list[str]:
    command = os.environ.get("KUBE_EDITOR") or os.environ.get("EDITOR") or "vi"
    try:
        words = shlex.split(command)
    except ValueError as exc:
        raise dynkube.InvalidInput(f"the editor command {command!r} cannot be split into words: {exc}") from None
    if not words:
        raise dynkube.InvalidInput("the editor command ($KUBE_EDITOR or $EDITOR) is empty")
    return words


def _run_editor(editor: list[str], text: str, output: str) -> str:
    """Write ``text`` to a private temporary file, run the editor on it, return what it holds after."""
    fd, path = tempfile.mkstemp(prefix="dynkube-edit-", suffix=f".{output}")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
        try:
            code = subprocess.run([*editor, path]).returncode
        except OSError as exc:
            raise dynkube.DynkubeError(f"cannot run the editor {shlex.join(editor)!r}: {exc.strerror}; set "
                                       "$KUBE_EDITOR or $EDITOR") from None
        if code != 0:
            raise dynkube.DynkubeError(f"there was a problem with the editor {shlex.join(editor)!r}: it exited with "
                                       f"status {code}; nothing was changed")
        with open(path, encoding="utf-8") as stream:
            return stream.read()
    finally:
        os.unlink(path)


def _parse(content: str) -> dict[str, Any]:
    import yaml

    try:
        document = yaml.safe_load(content)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ValueError(f"invalid YAML{where}: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(document, dict):
        raise ValueError("the file must hold one object (a mapping)")
    return document


def _invalid(exc: dynkube.ApiError, rc: dynkube.ResourceClient, name: str) -> str:
    lines = [f'{rc.plural} "{name}" was not valid:']
    causes = [c for c in getattr(exc, "causes", []) if c.get("message")]
    if causes:
        lines += [f"* {c.get('field')}: {c.get('message')}" if c.get("field") else f"* {c.get('message')}"
                  for c in causes]
    else:
        lines.append(f"* {one_line(exc.message or str(exc))}")
    return "\n".join(lines)


def _comment(text: str) -> str:
    return "".join(f"# {line}\n" for line in text.splitlines()) + "#\n"


def _cancelled(ctx: Context) -> int:
    ctx.error("Edit cancelled, no changes made.")
    return 0


def _gave_up(ctx: Context, content: str) -> int:
    copy = _keep(content, ctx.args.output)
    ctx.error(f'A copy of your changes has been stored to "{copy}"')
    ctx.error("error: Edit cancelled, no valid changes were saved.")
    raise CommandFailed


def _keep(content: str, output: str) -> str:
    """Store the user's edited text in a private file that stays, and return its path."""
    fd, path = tempfile.mkstemp(prefix="dynkube-edit-", suffix=f".{output}")
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        stream.write(content)
    return path

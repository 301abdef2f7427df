"""``dynkube logs``: kubectl's logs command over ``dynkube.podlogs``."""

from __future__ import annotations

from typing import Any

import dynkube
from dynkube.podlogs import check_options, follow_logs, log_sources, read_logs

from .context import CommandFailed, Context, UsageError
from .options import AddCommand, duration


def register(command: AddCommand) -> None:
    """Add ``logs``, with kubectl's flags."""
    p = command("logs", logs_command, "Print the logs of a container in a pod, or of a workload's pod.",
                "examples:\n  dynkube logs web-1\n  dynkube logs -f deploy/web --tail=10\n"
                "  dynkube logs -l app=web --all-containers --prefix\n  dynkube logs web-1 -c sidecar --since=1h\n"
                "  dynkube logs -p job/migrate --timestamps")
    p.add_argument("targets", nargs="*", metavar="POD | TYPE/NAME [CONTAINER]")
    p.add_argument("-c", "--container", metavar="NAME", help="the container (default: the pod's default container)")
    p.add_argument("-f", "--follow", action="store_true", help="stream the logs as they are written")
    p.add_argument("--tail", type=int, metavar="N",
                   help="only the last N lines (default -1: all; 10 with a selector)")
    p.add_argument("--since", type=duration, metavar="DURATION", help="only lines newer than this, e.g. 5s, 2m, 3h")
    p.add_argument("--since-time", metavar="TIME", help="only lines after this RFC 3339 time")
    p.add_argument("--timestamps", action="store_true", help="start each line with its timestamp")
    p.add_argument("-p", "--previous", action="store_true", help="the logs of the previous instance of the container")
    p.add_argument("--limit-bytes", type=int, default=0, metavar="N", help="at most N bytes of each log (0: no limit)")
    p.add_argument("--all-containers", action="store_true", help="every container of the pod(s)")
    p.add_argument("--all-pods", action="store_true", help="every pod of the workload, not only the first")
    p.add_argument("-l", "--selector", metavar="SELECTOR", help="the pods matching this label selector")
    p.add_argument("--prefix", action="store_true", help="start each line with its source: [pod/NAME/CONTAINER]")
    p.add_argument("--max-log-requests", type=int, default=5, metavar="N",
                   help="follow at most N logs at once (default 5)")
    p.add_argument("--ignore-errors", action="store_true",
                   help="when following several logs, an error of one is reported and the others go on")
    p.add_argument("--pod-running-timeout", type=duration, default=20.0, metavar="DURATION",
                   help="how long to wait for a workload's first pod (default 20s)")
    p.add_argument("--insecure-skip-tls-verify-backend", action="store_true",
                   help="the API server does not verify the kubelet's certificate (expired kubelet certificates)")
    p.add_argument("--resume", action="store_true",
                   help="with -f: reconnect a broken connection, from the last line's timestamp (dynkube only)")


USAGE = "logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]"
SELECTOR_TAIL = 10  # kubectl's --tail when a selector is given and --tail is not


def logs_command(ctx: Context) -> int:
    args = ctx.args
    target, container = _target_and_container(args)
    options = _log_options(args)
    check_options(follow=args.follow, resume=args.resume, max_log_requests=args.max_log_requests,
                  ignore_errors=args.ignore_errors, **options)
    selection = log_sources(ctx.client, target, ctx.namespace, selector=args.selector, container=container,
                            all_containers=args.all_containers, all_pods=args.all_pods,
                            pod_timeout=args.pod_running_timeout or 0)
    for notice in selection.notices:
        ctx.error(notice)
    if args.follow and len(selection.sources) > 0:
        return _follow(ctx, selection.sources, options)
    for source in selection.sources:  # one after the other, each written as soon as it is read
        ctx.out.write(read_logs(ctx.client, [source], prefix=args.prefix, **options))
        ctx.out.flush()
    return 0


def _target_and_container(args: Any) -> tuple[str | None, str | None]:
    """kubectl's arguments: POD or TYPE/NAME, optionally followed by the container; or -l alone."""
    targets, container = list(args.targets), args.container
    if not targets and not args.selector or len(targets) > 2:
        raise UsageError(f"expected '{USAGE}': POD or TYPE/NAME is a required argument for the logs command")
    if targets and args.selector:
        raise UsageError("only a selector (-l) or a POD name is allowed")
    if len(targets) == 2:
        if container:
            raise UsageError("only one of -c or an inline [CONTAINER] arg is allowed")
        container = targets[1]
    if args.all_containers and container:
        raise UsageError(f"--all-containers=true should not be specified with container name {container}")
    return (targets[0] if targets else None), container or None


def _log_options(args: Any) -> dict[str, Any]:
    """The flags as ``read_logs``' options, with kubectl's checks and defaults."""
    if args.since_time and args.since:
        raise UsageError("at most one of `sinceTime` or `sinceSeconds` may be specified")
    if args.limit_bytes < 0:
        raise UsageError("--limit-bytes must be greater than 0")
    if args.tail is not None and args.tail < -1:
        raise UsageError("--tail must be greater than or equal to -1")
    tail = args.tail if args.tail is not None else (SELECTOR_TAIL if args.selector else -1)
    return {"tail_lines": None if tail == -1 else tail, "since_seconds": args.since, "since_time": args.since_time,
            "timestamps": args.timestamps, "previous": args.previous, "limit_bytes": args.limit_bytes or None,
            "insecure_skip_tls_verify_backend": args.insecure_skip_tls_verify_backend}


def _follow(ctx: Context, sources: tuple[dynkube.LogSource, ...], options: dict[str, Any]) -> int:
    args = ctx.args
    stream = follow_logs(ctx.client, sources, resume=args.resume, max_log_requests=args.max_log_requests,
                         ignore_errors=args.ignore_errors, **options)
    with stream:
        try:
            for line in stream:
                ctx.out.write(line.source.prefix + line.text if args.prefix else line.text)
                ctx.out.flush()
        except dynkube.LogStreamDropped as exc:
            ctx.error(f"error: {exc}")
            raise CommandFailed from None
    return 0

"""``deepprior serve``: the local web page (``deepprior.web``; needs the ``ui`` extra)."""

from __future__ import annotations

import argparse
import sys

from .cli_args import positive
from .errors import InputError
from .runtime import DEVICES

COMMAND = "serve"
EXAMPLE = "deepprior serve                    # then open http://127.0.0.1:7860"
EXAMPLES = """examples:
  deepprior serve                              # http://127.0.0.1:7860, this machine only
  deepprior serve --port 8080 --max-pixels 25e6 --max-mb 100
  deepprior serve --host 0.0.0.0               # reachable from the network: anyone there can use it

Needs the ui extra: pip install 'deepprior[ui]'. One restoration runs at a time; other browser tabs
see their place in the queue. Nothing is shared outside this machine unless --host says so."""

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        COMMAND,
        help="the local web page: upload, paint a mask, watch the fit, download",
        description="Serve the deepprior page on this machine (gradio; no public share link).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine)")
    p.add_argument("--port", type=positive(int), default=7860, help="default 7860")
    p.add_argument(
        "--max-pixels", type=positive(float), default=50e6, help="largest upload in pixels (default 50e6)"
    )
    p.add_argument("--max-mb", type=positive(float), default=200, help="largest upload in MB (default 200)")
    p.add_argument("--device", default="auto", choices=DEVICES, help="default: cuda, then mps, then cpu")


def run(args: argparse.Namespace) -> int:
    try:
        from .web import page
    except ImportError as error:
        raise InputError(
            f"deepprior serve needs the ui extra ({error.name} is missing): pip install 'deepprior[ui]'"
        ) from None
    if args.host not in LOCAL_HOSTS:
        print(
            f"deepprior: warning: serving on {args.host}: anyone who can reach this machine can use the "
            f"page and its processor",
            file=sys.stderr,
        )
    app = page.build(max_pixels=int(args.max_pixels), device=args.device)
    app.queue(default_concurrency_limit=1)
    print(f"deepprior: serving on http://{args.host}:{args.port} (Ctrl-C stops)", flush=True)
    app.launch(
        server_name=args.host,
        server_port=args.port,
        share=False,
        inbrowser=False,
        quiet=True,
        max_file_size=f"{int(args.max_mb)}mb",
    )
    return 0

"""The Graph API stand-in as a process: ``python -m zapora.cluster.graph_process``.

It serves ``zapora chat``'s Graph API simulator on 127.0.0.1 and appends every send
request it receives to a JSON lines file (see ``graph.py``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from zapora.chat.graph_server import create_graph_app
from zapora.cluster.graph import recorder


def main(argv: list[str] | None = None) -> None:
    """Serve the stand-in on 127.0.0.1 until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="TCP port on 127.0.0.1.")
    parser.add_argument("--record", type=Path, required=True, help="JSON lines file to append to.")
    arguments = parser.parse_args(argv)
    with arguments.record.open("a", encoding="utf-8") as record_file:
        app = create_graph_app(recorder(record_file))
        uvicorn.run(app, host="127.0.0.1", port=arguments.port, log_level="warning", lifespan="off")


if __name__ == "__main__":
    main()

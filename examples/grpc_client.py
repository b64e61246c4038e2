#!/usr/bin/env python3
"""A Corkboard gRPC client in Python (grpcio): lists your boards, subscribes to
one, creates a note on it and prints the event the subscription receives.

Setup, from the repository root:

    make test-deps            # or just: scripts/grpc-client-deps.sh

creates a venv at crates/corkboard/tests/grpc-client/.venv with the pinned
grpcio packages, and generates the stubs from proto/corkboard/v1/corkboard.proto
into crates/corkboard/tests/grpc-client/gen/. To generate them elsewhere yourself:

    python -m pip install grpcio grpcio-tools
    python -m grpc_tools.protoc -I proto --python_out=OUT --grpc_python_out=OUT \\
        proto/corkboard/v1/corkboard.proto
    touch OUT/corkboard/__init__.py OUT/corkboard/v1/__init__.py

and point CORKBOARD_STUBS=OUT at them.

An API token comes from the REST API with a session (or the web UI):

    curl -s -c jar -H 'content-type: application/json' \\
        -d '{"username":"ann","password":"password123"}' localhost:8080/api/auth/login
    curl -s -b jar -H 'content-type: application/json' -d '{"name":"cli"}' \\
        localhost:8080/api/tokens            # → {"token": "...", ...}

Run (gRPC is served on the same port as HTTP, plaintext h2c here):

    CORKBOARD_TOKEN=... crates/corkboard/tests/grpc-client/.venv/bin/python \\
        examples/grpc_client.py 127.0.0.1:8080 [BOARD_ID] [--text "hello"]

Without BOARD_ID it uses the first board you can write to.
"""

import argparse
import os
import sys
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.environ.get("CORKBOARD_STUBS", os.path.join(ROOT, "crates/corkboard/tests/grpc-client/gen")))

import grpc  # noqa: E402

try:
    from corkboard.v1 import corkboard_pb2 as pb  # noqa: E402
    from corkboard.v1 import corkboard_pb2_grpc as pb_grpc  # noqa: E402
except ImportError:
    sys.exit("the Python stubs are missing: run `make test-deps` (see the docstring)")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("address", help="host:port of the server, e.g. 127.0.0.1:8080")
    p.add_argument("board", nargs="?", help="a board id (default: the first writable board)")
    p.add_argument("--token", default=os.environ.get("CORKBOARD_TOKEN"), help="API token (or CORKBOARD_TOKEN)")
    p.add_argument("--text", default="Hello from gRPC", help="the new note's text")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for anything")
    a = p.parse_args()
    if not a.token:
        p.error("an API token is needed: --token or CORKBOARD_TOKEN")

    md = (("authorization", f"Bearer {a.token}"),)
    with grpc.insecure_channel(a.address) as ch:
        s = pb_grpc.CorkboardStub(ch)
        boards = s.ListBoards(pb.ListBoardsRequest(), metadata=md, timeout=a.timeout).boards
        for b in boards:
            print(f"board {b.id}  {b.title!r}  role={pb.Role.Name(b.role)}  seq={b.seq}")
        board = a.board or next((b.id for b in boards if b.role in (pb.ROLE_OWNER, pb.ROLE_EDITOR)), None)
        if not board:
            sys.exit("no board to write to: create one (POST /api/boards) or pass a board id")

        stream = s.Subscribe(pb.SubscribeRequest(board=board), metadata=md, timeout=a.timeout)
        subscribed = threading.Event()
        received = []

        def read():
            try:
                for u in stream:
                    kind = u.WhichOneof("update")
                    if kind == "snapshot":
                        print(f"snapshot: {len(u.snapshot.notes)} notes at seq {u.snapshot.seq}")
                    elif kind == "subscribed":
                        print(f"subscribed at seq {u.subscribed.seq}")
                    elif kind == "presence":
                        print(f"online: {[m.user.username for m in u.presence.members]}")
                        subscribed.set()
                    elif kind == "event":
                        e = u.event
                        print(f"event {e.seq} {e.kind} by {e.by.username}: {e.WhichOneof('payload')}")
                        print(e)
                        received.append(e)
                        stream.cancel()
                        return
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.CANCELLED:
                    print(f"stream ended: {e.code().name} {e.details()}", file=sys.stderr)
            finally:
                subscribed.set()

        t = threading.Thread(target=read, daemon=True)
        t.start()
        if not subscribed.wait(a.timeout):
            sys.exit("not subscribed in time")
        r = s.CreateNote(pb.CreateNoteRequest(board=board, text=a.text, x=40, y=40, color=pb.COLOR_GREEN),
                         metadata=md, timeout=a.timeout)
        print(f"created note {r.note.id} at seq {r.seq}")
        t.join(a.timeout)
        if not received:
            sys.exit("no event received")


if __name__ == "__main__":
    try:
        main()
    except grpc.RpcError as e:
        sys.exit(f"{e.code().name}: {e.details()}")

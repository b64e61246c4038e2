"""The client scripts/image-test.sh and scripts/compose-test.sh drive against a
Corkboard in a container: plain HTTP (urllib) and a WebSocket (websockets, from
the venv of scripts/grpc-client-deps.sh). Every wait is bounded; on failure it
says why on stderr and exits 1.

    container-client.py smoke BASE [WRITE_BASE]
        GET /healthz; sign up; create a board; subscribe to it over the
        WebSocket of BASE; create a note through WRITE_BASE (default BASE) and
        receive its note.created event; GET the board and find the note.
    container-client.py write BASE STATE [SECONDS]
        Sign up, create a board, then create notes from 4 threads until the
        server goes away (refused, or 5xx for 3 s) or SECONDS (default 60) pass. Every acknowledged
        note (201) is appended to STATE as soon as it is acknowledged; the
        first line of STATE is the board and the credentials.
    container-client.py verify BASE STATE
        Log in again and check that every note listed in STATE is on the board.
"""

import asyncio
import http.cookies
import json
import secrets
import sys
import threading
import time
import urllib.error
import urllib.request

TIMEOUT = 10.0
PASSWORD = "container-test-password"


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def call(base, method, path, body=None, cookie=None):
    """One request; returns (status, JSON body or None, session cookie or None)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("content-type", "application/json")
    if cookie:
        req.add_header("cookie", cookie)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            status, raw, headers = r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        status, raw, headers = e.code, e.read(), e.headers
    session = None
    for h in headers.get_all("set-cookie") or []:
        c = http.cookies.SimpleCookie(h)
        for name, morsel in c.items():
            if name.endswith("corkboard_session"):
                session = f"{name}={morsel.value}"
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode("utf-8", "replace")
    return status, parsed, session


def signup(base):
    user = "ctr_" + secrets.token_hex(6)
    st, body, cookie = call(base, "POST", "/api/auth/signup", {"username": user, "password": PASSWORD})
    check(st == 201 and cookie, f"signup: {st} {body}")
    return user, cookie


def new_board(base, cookie, title):
    st, body, _ = call(base, "POST", "/api/boards", {"title": title}, cookie)
    check(st == 201, f"create board: {st} {body}")
    return body["id"]


def smoke(base, write_base):
    st, body, _ = call(base, "GET", "/healthz")
    check(st == 200, f"GET /healthz: {st} {body}")
    user, cookie = signup(base)
    board = new_board(base, cookie, "container smoke")
    note = asyncio.run(subscribe_and_write(base, write_base, cookie, board))
    st, body, _ = call(base, "GET", f"/api/boards/{board}", cookie=cookie)
    check(st == 200, f"GET board: {st} {body}")
    ids = [n["id"] for n in body["notes"]]
    check(ids == [note], f"board notes: got {ids}, want [{note}]")
    print(json.dumps({"smoke": "ok", "user": user, "board": board, "note": note}))


async def subscribe_and_write(base, write_base, cookie, board):
    from websockets.asyncio.client import connect

    url = base.replace("http://", "ws://", 1) + "/ws"
    async with connect(
        url, additional_headers={"Cookie": cookie}, subprotocols=["corkboard.v1"], open_timeout=TIMEOUT
    ) as ws:

        async def next_message():
            return json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))

        m = await next_message()
        check(m["type"] == "welcome", f"first WebSocket message: {m}")
        await ws.send(json.dumps({"type": "subscribe", "board": board}))
        m = await next_message()
        check(m["type"] == "subscribed", f"subscribe: {m}")
        st, body, _ = await asyncio.to_thread(
            call, write_base, "POST", f"/api/boards/{board}/notes", {"x": 1, "y": 2, "text": "from outside"}, cookie
        )
        check(st == 201, f"create note: {st} {body}")
        note = body["note"]["id"]
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            m = await next_message()
            if m.get("type") == "event":
                check(m.get("kind") == "note.created", f"event: {m}")
                check(m["note"]["id"] == note, f"event for another note: {m}")
                return note
        raise Failure(f"no note.created event within {TIMEOUT} s")


def write(base, state_path, seconds):
    user, cookie = signup(base)
    board = new_board(base, cookie, "container writes")
    lock = threading.Lock()
    stop = threading.Event()
    acked = []
    errors = []
    deadline = time.monotonic() + seconds
    with open(state_path, "w") as state:
        state.write(json.dumps({"board": board, "user": user}) + "\n")
        state.flush()

        def writer(n):
            i = 0
            failing_since = None  # start of the current run of 5xx answers
            while not stop.is_set() and time.monotonic() < deadline and i < 1000:
                i += 1
                try:
                    st, body, _ = call(
                        base, "POST", f"/api/boards/{board}/notes", {"x": n, "y": i, "text": f"w{n}-{i}"}, cookie
                    )
                except OSError as e:  # refused or reset: the server is gone
                    errors.append(repr(e))
                    stop.set()
                    return
                if st < 500:
                    failing_since = None
                if st == 201:
                    with lock:
                        acked.append(body["note"]["id"])
                        state.write(body["note"]["id"] + "\n")
                        state.flush()
                elif st == 429:
                    time.sleep(0.2)
                elif st >= 500:  # a draining node (503), or a proxy without nodes (502)
                    errors.append(f"{st} {body}")
                    failing_since = failing_since or time.monotonic()
                    if time.monotonic() - failing_since > 3:
                        stop.set()
                        return
                    time.sleep(0.05)
                else:
                    errors.append(f"unexpected {st} {body}")
                    stop.set()
                    return

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    bad = [e for e in errors if e.startswith("unexpected")]
    check(not bad, f"writer: {bad[0] if bad else ''}")
    print(json.dumps({"acknowledged": len(acked), "errors": len(errors), "first_error": errors[:1]}))


def verify(base, state_path):
    with open(state_path) as f:
        head = json.loads(f.readline())
        want = [line.strip() for line in f if line.strip()]
    check(want, "the writer recorded no acknowledged write")
    st, body, cookie = call(base, "POST", "/api/auth/login", {"username": head["user"], "password": PASSWORD})
    check(st == 200 and cookie, f"login: {st} {body}")
    st, body, _ = call(base, "GET", f"/api/boards/{head['board']}", cookie=cookie)
    check(st == 200, f"GET board: {st} {body}")
    have = {n["id"] for n in body["notes"]}
    lost = [n for n in want if n not in have]
    check(not lost, f"{len(lost)} of {len(want)} acknowledged notes lost, e.g. {lost[:3]}")
    print(json.dumps({"acknowledged": len(want), "on_board": len(have), "lost": 0}))


def main(argv):
    try:
        if len(argv) in (3, 4) and argv[1] == "smoke":
            smoke(argv[2], argv[3] if len(argv) == 4 else argv[2])
        elif len(argv) in (4, 5) and argv[1] == "write":
            write(argv[2], argv[3], float(argv[4]) if len(argv) == 5 else 60.0)
        elif len(argv) == 4 and argv[1] == "verify":
            verify(argv[2], argv[3])
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except (Failure, OSError, KeyError, ValueError, asyncio.TimeoutError) as e:
        print(f"container-client {argv[1]}: FAILED: {e!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

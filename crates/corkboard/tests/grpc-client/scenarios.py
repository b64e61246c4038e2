"""Corkboard's gRPC door, driven by an independent client: Python grpcio.

Run by tests/grpc_python.rs as

    .venv/bin/python scenarios.py <scenario> <host:port> '<json args>'

One function per scenario. Exit 0 on success; on failure a message on stderr
and exit 1. Every unary call has `timeout=`, every stream a deadline, so no
scenario can hang (each is bounded well under 30 s).

Lines on stdout are for the Rust harness:
  READY ...          the stream is live (subscribed and presence received):
                     the harness may now act (write over REST, stop the server…)
  EVENT {json}       an event received (seq as a number)
  MSG {json}         any other message received, as proto3 JSON
  SIGNAL {json}      a signal received
  NOTE {json}        a note written
  END <status>       how a stream ended
Lines on stdin (when a scenario reads them) are commands from the harness.

Needs the venv and the stubs of `make test-deps` (scripts/grpc-client-deps.sh).
"""

import json
import math
import os
import queue
import sys
import threading
import time
import traceback
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "gen"))

import grpc  # noqa: E402
from google.protobuf import json_format  # noqa: E402
from grpc_status import rpc_status  # noqa: E402

from corkboard.v1 import corkboard_pb2 as pb  # noqa: E402
from corkboard.v1 import corkboard_pb2_grpc as pb_grpc  # noqa: E402

CALL_TIMEOUT = 5.0
STREAM_DEADLINE = 20.0


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def eq(got, want, what):
    if got != want:
        raise Failure(f"{what}: got {got!r}, want {want!r}")


def out(tag, payload=None):
    if payload is None:
        print(tag, flush=True)
    elif isinstance(payload, str):
        print(f"{tag} {payload}", flush=True)
    else:
        print(f"{tag} {json.dumps(payload, sort_keys=True)}", flush=True)


def to_json(msg):
    return json_format.MessageToDict(msg, preserving_proto_field_name=True)


def meta(token):
    return (("authorization", f"Bearer {token}"),) if token is not None else ()


def channel(target):
    return grpc.insecure_channel(target)


def stub(target):
    return pb_grpc.CorkboardStub(channel(target))


def err_code_trailer(err):
    for k, v in err.trailing_metadata() or ():
        if k == "corkboard-error-code":
            return v
    return None


def expect_error(fn, status, code, what):
    """Calls fn(); requires an RpcError with `status` and the trailer `code`. Returns it."""
    try:
        got = fn()
    except grpc.RpcError as e:
        if e.code() != status:
            raise Failure(f"{what}: status {e.code()} ({e.details()!r}), want {status}")
        trailer = err_code_trailer(e)
        if code is not None and trailer != code:
            raise Failure(
                f"{what}: corkboard-error-code {trailer!r}, want {code!r} "
                f"(trailers {e.trailing_metadata()!r})"
            )
        check(trailer, f"{what}: no corkboard-error-code trailer on a non-OK status")
        return e
    raise Failure(f"{what}: succeeded ({got!r}), want {status}")


def board_seq(s, token, board):
    return s.GetBoard(pb.GetBoardRequest(board=board), metadata=meta(token), timeout=CALL_TIMEOUT).seq


def event_dict(ev):
    d = to_json(ev)
    d["seq"] = ev.seq
    d["payload"] = ev.WhichOneof("payload")
    return d


PAYLOAD_OF_KIND = {
    "note.created": "note",
    "note.updated": "delta",
    "note.deleted": "note_id",
    "board.updated": "title",
    "board.deleted": None,
    "member.joined": "member",
    "member.updated": "member",
    "member.left": "member",
}


def check_event(ev, board):
    eq(ev.board, board, f"event {ev.seq} board")
    check(ev.kind in PAYLOAD_OF_KIND, f"event {ev.seq}: unknown kind {ev.kind!r}")
    eq(ev.WhichOneof("payload"), PAYLOAD_OF_KIND[ev.kind], f"event {ev.seq} ({ev.kind}) payload")
    check(ev.by.id and ev.by.username, f"event {ev.seq}: `by` is empty")
    check(ev.at.seconds > 0, f"event {ev.seq}: `at` is unset")


# ---------------------------------------------------------------------------
# Unary


def scenario_auth(target, a):
    """No token / a bad token → UNAUTHENTICATED (code unauthorized); a good token works."""
    s = stub(target)
    req = pb.ListBoardsRequest()
    expect_error(lambda: s.ListBoards(req, timeout=CALL_TIMEOUT), grpc.StatusCode.UNAUTHENTICATED,
                 "unauthorized", "ListBoards without a token")
    expect_error(lambda: s.ListBoards(req, metadata=meta("not-a-token"), timeout=CALL_TIMEOUT),
                 grpc.StatusCode.UNAUTHENTICATED, "unauthorized", "ListBoards with a bad token")
    expect_error(lambda: s.GetBoard(pb.GetBoardRequest(board=a["board"]), metadata=(("authorization", "Basic x"),),
                                    timeout=CALL_TIMEOUT),
                 grpc.StatusCode.UNAUTHENTICATED, "unauthorized", "GetBoard with a non-Bearer authorization")
    # A stream without a token fails the same way.
    it = s.Subscribe(pb.SubscribeRequest(board=a["board"]), timeout=CALL_TIMEOUT)
    expect_error(lambda: next(it), grpc.StatusCode.UNAUTHENTICATED, "unauthorized", "Subscribe without a token")
    r = s.ListBoards(req, metadata=meta(a["token"]), timeout=CALL_TIMEOUT)
    ids = [b.id for b in r.boards]
    check(a["board"] in ids, f"ListBoards: board {a['board']} not among {ids}")
    out("MSG", to_json(r))


def scenario_unary(target, a):
    """ListBoards, GetBoard, CreateNote, UpdateNote (partial, empty, conflict), DeleteNote."""
    s = stub(target)
    md = meta(a["token"])
    board = a["board"]
    boards = s.ListBoards(pb.ListBoardsRequest(), metadata=md, timeout=CALL_TIMEOUT).boards
    mine = [b for b in boards if b.id == board]
    eq(len(mine), 1, "ListBoards: the board")
    b = mine[0]
    eq(b.title, a["title"], "board title")
    eq(b.role, pb.ROLE_OWNER, "caller's role")
    check(b.owner.id and b.owner.username, "board owner")
    snap = s.GetBoard(pb.GetBoardRequest(board=board), metadata=md, timeout=CALL_TIMEOUT)
    eq(snap.board.id, board, "snapshot board id")
    seq0 = snap.seq
    eq(snap.board.seq, seq0, "snapshot board.seq")
    n0 = len(snap.notes)

    # Create with defaults: color unspecified → yellow, w/h → 200×140.
    r = s.CreateNote(pb.CreateNoteRequest(board=board, text="hello grpc", x=10.5, y=-3), metadata=md,
                     timeout=CALL_TIMEOUT)
    eq(r.seq, seq0 + 1, "CreateNote seq")
    note = r.note
    eq(note.board, board, "note.board")
    eq(note.text, "hello grpc", "note.text")
    eq((note.x, note.y, note.w, note.h), (10.5, -3.0, 200.0, 140.0), "note geometry")
    eq(note.color, pb.COLOR_YELLOW, "default color")
    eq(note.version, r.seq, "note.version")
    check(note.updated_at.seconds > 0, "note.updated_at is unset")
    check(b.created_at.seconds > 0 and b.updated_at.seconds > 0, f"board timestamps: {b}")
    check(note.created_by.id and note.created_by.username, "note.created_by")
    out("NOTE", to_json(note))

    # Update only the color: the rest stays.
    u = s.UpdateNote(pb.UpdateNoteRequest(board=board, id=note.id, color=pb.COLOR_BLUE), metadata=md,
                     timeout=CALL_TIMEOUT)
    eq(u.seq, seq0 + 2, "UpdateNote seq")
    eq(u.note.color, pb.COLOR_BLUE, "updated color")
    eq((u.note.text, u.note.x, u.note.y), ("hello grpc", 10.5, -3.0), "untouched fields")
    eq(u.note.version, u.seq, "version after update")
    # An explicit zero is present, so it changes x.
    u2 = s.UpdateNote(pb.UpdateNoteRequest(board=board, id=note.id, x=0.0, text=""), metadata=md,
                      timeout=CALL_TIMEOUT)
    eq((u2.note.x, u2.note.text, u2.note.y), (0.0, "", -3.0), "present zero values apply")

    # No optional field present → INVALID_ARGUMENT, nothing written.
    before = board_seq(s, a["token"], board)
    expect_error(lambda: s.UpdateNote(pb.UpdateNoteRequest(board=board, id=note.id), metadata=md,
                                      timeout=CALL_TIMEOUT),
                 grpc.StatusCode.INVALID_ARGUMENT, "bad_request", "UpdateNote with no field")
    eq(board_seq(s, a["token"], board), before, "seq after an empty update")

    # base_version older than x's last change → ABORTED, current note in the details.
    e = expect_error(lambda: s.UpdateNote(pb.UpdateNoteRequest(board=board, id=note.id, base_version=note.version,
                                                               x=1.0), metadata=md, timeout=CALL_TIMEOUT),
                     grpc.StatusCode.ABORTED, "conflict", "UpdateNote with a stale base_version")
    st = rpc_status.from_call(e)
    check(st is not None, "conflict without grpc-status-details-bin")
    eq(st.code, grpc.StatusCode.ABORTED.value[0], "rich status code")
    check(len(st.details) >= 1, "conflict details are empty")
    any_ = st.details[0]
    eq(any_.type_url, "type.googleapis.com/corkboard.v1.Note", "details[0] type")
    current = pb.Note()
    check(any_.Unpack(current), "details[0] does not unpack as a Note")
    eq((current.id, current.text, current.x, current.version), (note.id, "", 0.0, u2.seq), "the current note")
    eq(board_seq(s, a["token"], board), before, "seq after a conflict")
    # A field that did not change after base_version does not conflict.
    ok = s.UpdateNote(pb.UpdateNoteRequest(board=board, id=note.id, base_version=u.seq, y=7), metadata=md,
                      timeout=CALL_TIMEOUT)
    eq(ok.note.y, 7.0, "non-conflicting update with base_version")
    # Text never conflicts: a replacement with a stale base_version applies (protocol.md, "Collaborative text").
    t = s.UpdateNote(pb.UpdateNoteRequest(board=board, id=note.id, base_version=note.version, text="stale"),
                     metadata=md, timeout=CALL_TIMEOUT)
    eq(t.note.text, "stale", "text with a stale base_version")

    # Missing note → NOT_FOUND.
    expect_error(lambda: s.UpdateNote(pb.UpdateNoteRequest(board=board, id="no-such-note", x=1), metadata=md,
                                      timeout=CALL_TIMEOUT),
                 grpc.StatusCode.NOT_FOUND, "not_found", "UpdateNote of a missing note")

    d = s.DeleteNote(pb.DeleteNoteRequest(board=board, id=note.id), metadata=md, timeout=CALL_TIMEOUT)
    eq(d.seq, t.seq + 1, "DeleteNote seq")
    expect_error(lambda: s.DeleteNote(pb.DeleteNoteRequest(board=board, id=note.id), metadata=md,
                                      timeout=CALL_TIMEOUT),
                 grpc.StatusCode.NOT_FOUND, "not_found", "deleting a deleted note")
    snap = s.GetBoard(pb.GetBoardRequest(board=board), metadata=md, timeout=CALL_TIMEOUT)
    eq(snap.seq, d.seq, "seq at the end")
    eq(len(snap.notes), n0, "notes at the end")
    expect_error(lambda: s.GetBoard(pb.GetBoardRequest(board="no-such-board"), metadata=md, timeout=CALL_TIMEOUT),
                 grpc.StatusCode.NOT_FOUND, "not_found", "GetBoard of a missing board")


def scenario_idempotency(target, a):
    """Same op / same client id → same note and seq, one write only."""
    s = stub(target)
    md = meta(a["token"])
    board = a["board"]
    if a.get("rest_op"):
        # An op first used over REST: the gRPC retry gets the original, applies nothing.
        before = board_seq(s, a["token"], board)
        r = s.CreateNote(pb.CreateNoteRequest(board=board, op=a["rest_op"], text="other", x=9, y=9), metadata=md,
                         timeout=CALL_TIMEOUT)
        eq((r.note.id, r.seq, r.note.text), (a["rest_note_id"], a["rest_seq"], a["rest_text"]),
           "a gRPC retry of a REST create")
        eq(board_seq(s, a["token"], board), before, "seq after the cross-door retry")
    seq0 = board_seq(s, a["token"], board)
    op = str(uuid.uuid4())
    r1 = s.CreateNote(pb.CreateNoteRequest(board=board, op=op, text="once", x=1, y=2), metadata=md,
                      timeout=CALL_TIMEOUT)
    r2 = s.CreateNote(pb.CreateNoteRequest(board=board, op=op, text="once", x=1, y=2), metadata=md,
                      timeout=CALL_TIMEOUT)
    eq(r2, r1, "CreateNote retried with the same op")
    eq(r1.seq, seq0 + 1, "seq after create")
    nid = str(uuid.uuid4())
    c1 = s.CreateNote(pb.CreateNoteRequest(board=board, id=nid, text="by id", x=3, y=4), metadata=md,
                      timeout=CALL_TIMEOUT)
    eq(c1.note.id, nid, "client-chosen id")
    c2 = s.CreateNote(pb.CreateNoteRequest(board=board, id=nid, text="by id", x=3, y=4), metadata=md,
                      timeout=CALL_TIMEOUT)
    eq(c2, c1, "CreateNote retried with the same id")
    uop = str(uuid.uuid4())
    u1 = s.UpdateNote(pb.UpdateNoteRequest(board=board, id=nid, op=uop, x=50), metadata=md, timeout=CALL_TIMEOUT)
    # Meanwhile the note changes; the retry still answers the original.
    s.UpdateNote(pb.UpdateNoteRequest(board=board, id=nid, x=60), metadata=md, timeout=CALL_TIMEOUT)
    u2 = s.UpdateNote(pb.UpdateNoteRequest(board=board, id=nid, op=uop, x=50), metadata=md, timeout=CALL_TIMEOUT)
    eq(u2, u1, "UpdateNote retried with the same op")
    dop = str(uuid.uuid4())
    d1 = s.DeleteNote(pb.DeleteNoteRequest(board=board, id=r1.note.id, op=dop), metadata=md, timeout=CALL_TIMEOUT)
    d2 = s.DeleteNote(pb.DeleteNoteRequest(board=board, id=r1.note.id, op=dop), metadata=md, timeout=CALL_TIMEOUT)
    eq(d2.seq, d1.seq, "DeleteNote retried with the same op")
    snap = s.GetBoard(pb.GetBoardRequest(board=board), metadata=md, timeout=CALL_TIMEOUT)
    # create, create, update, update, delete: 5 writes.
    eq(snap.seq, seq0 + 5, "writes applied once each")
    eq(sorted(n.id for n in snap.notes if n.id in (r1.note.id, nid)), [nid], "notes on the board")
    x = [n.x for n in snap.notes if n.id == nid][0]
    eq(x, 60.0, "the replayed update applied nothing")


def scenario_authz(target, a):
    """A viewer's mutation → PERMISSION_DENIED; a non-member → NOT_FOUND."""
    s = stub(target)
    board, note_id = a["board"], a["note_id"]
    v = meta(a["viewer_token"])
    seq0 = board_seq(s, a["viewer_token"], board)  # a viewer reads
    roles = {b.id: b.role for b in s.ListBoards(pb.ListBoardsRequest(), metadata=v, timeout=CALL_TIMEOUT).boards}
    eq(roles.get(board), pb.ROLE_VIEWER, "the viewer's role in ListBoards")
    expect_error(lambda: s.CreateNote(pb.CreateNoteRequest(board=board, x=1, y=1), metadata=v, timeout=CALL_TIMEOUT),
                 grpc.StatusCode.PERMISSION_DENIED, "forbidden", "viewer CreateNote")
    expect_error(lambda: s.UpdateNote(pb.UpdateNoteRequest(board=board, id=note_id, x=1), metadata=v,
                                      timeout=CALL_TIMEOUT),
                 grpc.StatusCode.PERMISSION_DENIED, "forbidden", "viewer UpdateNote")
    expect_error(lambda: s.DeleteNote(pb.DeleteNoteRequest(board=board, id=note_id), metadata=v,
                                      timeout=CALL_TIMEOUT),
                 grpc.StatusCode.PERMISSION_DENIED, "forbidden", "viewer DeleteNote")
    o = meta(a["outsider_token"])
    expect_error(lambda: s.GetBoard(pb.GetBoardRequest(board=board), metadata=o, timeout=CALL_TIMEOUT),
                 grpc.StatusCode.NOT_FOUND, "not_found", "non-member GetBoard")
    expect_error(lambda: s.CreateNote(pb.CreateNoteRequest(board=board, x=1, y=1), metadata=o, timeout=CALL_TIMEOUT),
                 grpc.StatusCode.NOT_FOUND, "not_found", "non-member CreateNote")
    it = s.Subscribe(pb.SubscribeRequest(board=board), metadata=o, timeout=CALL_TIMEOUT)
    expect_error(lambda: next(it), grpc.StatusCode.NOT_FOUND, "not_found", "non-member Subscribe")
    boards = s.ListBoards(pb.ListBoardsRequest(), metadata=o, timeout=CALL_TIMEOUT).boards
    check(board not in [b.id for b in boards], "a non-member lists the board")
    eq(board_seq(s, a["viewer_token"], board), seq0, "seq after refused writes")


def scenario_bad_input(target, a):
    """Bad input writes nothing: INVALID_ARGUMENT (or RESOURCE_EXHAUSTED for too big)."""
    s = stub(target)
    md = meta(a["token"])
    board, note_id = a["board"], a["note_id"]
    too_long_status = getattr(grpc.StatusCode, a["too_long_status"])
    too_long_code = a["too_long_code"]
    seq0 = board_seq(s, a["token"], board)
    INV = grpc.StatusCode.INVALID_ARGUMENT
    creates = {
        "color=99": dict(x=1, y=1, color=99),
        "x=NaN": dict(x=math.nan, y=1),
        "y=+inf": dict(x=1, y=math.inf),
        "x=-inf": dict(x=-math.inf, y=1),
        "w=NaN": dict(x=1, y=1, w=math.nan),
        "h=inf": dict(x=1, y=1, h=math.inf),
        "w=0": dict(x=1, y=1, w=0.0),
        "h=-5": dict(x=1, y=1, h=-5.0),
        "id with a space": dict(x=1, y=1, id="bad id"),
        "op too long": dict(x=1, y=1, op="o" * 65),
    }
    for what, fields in creates.items():
        expect_error(lambda: s.CreateNote(pb.CreateNoteRequest(board=board, **fields), metadata=md,
                                          timeout=CALL_TIMEOUT), INV, None, f"CreateNote {what}")
        eq(board_seq(s, a["token"], board), seq0, f"seq after CreateNote {what}")
    updates = {
        "color=99": dict(color=99),
        "x=NaN": dict(x=math.nan),
        "y=-inf": dict(y=-math.inf),
        "w=0": dict(w=0.0),
        "h=NaN": dict(h=math.nan),
    }
    for what, fields in updates.items():
        expect_error(lambda: s.UpdateNote(pb.UpdateNoteRequest(board=board, id=note_id, **fields), metadata=md,
                                          timeout=CALL_TIMEOUT), INV, None, f"UpdateNote {what}")
        eq(board_seq(s, a["token"], board), seq0, f"seq after UpdateNote {what}")
    expect_error(lambda: s.CreateNote(pb.CreateNoteRequest(board="", x=1, y=1), metadata=md, timeout=CALL_TIMEOUT),
                 INV, None, "CreateNote with an empty board id")
    expect_error(lambda: s.GetBoard(pb.GetBoardRequest(board=""), metadata=md, timeout=CALL_TIMEOUT),
                 INV, None, "GetBoard with an empty board id")
    expect_error(lambda: s.UpdateNote(pb.UpdateNoteRequest(board=board, id="", x=1), metadata=md,
                                      timeout=CALL_TIMEOUT), INV, None, "UpdateNote with an empty note id")
    # Text over 10,000 characters (multi-byte, so characters, not bytes, count): as REST answers.
    expect_error(lambda: s.CreateNote(pb.CreateNoteRequest(board=board, x=1, y=1, text="é" * 10_001), metadata=md,
                                      timeout=CALL_TIMEOUT), too_long_status, too_long_code,
                 "CreateNote with 10,001 characters")
    expect_error(lambda: s.UpdateNote(pb.UpdateNoteRequest(board=board, id=note_id, text="x" * 10_001), metadata=md,
                                      timeout=CALL_TIMEOUT), too_long_status, too_long_code,
                 "UpdateNote with 10,001 characters")
    eq(board_seq(s, a["token"], board), seq0, "seq after over-long text")
    # Exactly 10,000 multi-byte characters (20,000 bytes) is fine.
    r = s.CreateNote(pb.CreateNoteRequest(board=board, x=1, y=1, text="é" * 10_000), metadata=md,
                     timeout=CALL_TIMEOUT)
    eq(len(r.note.text), 10_000, "text of 10,000 characters")
    seq1 = r.seq
    # A request message over 64 KiB.
    expect_error(lambda: s.CreateNote(pb.CreateNoteRequest(board=board, x=1, y=1, text="x" * (70 * 1024)),
                                      metadata=md, timeout=CALL_TIMEOUT),
                 grpc.StatusCode.RESOURCE_EXHAUSTED, None, "a 70 KiB CreateNote")
    big_board = pb.GetBoardRequest(board="b" * (65 * 1024))
    expect_error(lambda: s.GetBoard(big_board, metadata=md, timeout=CALL_TIMEOUT),
                 grpc.StatusCode.RESOURCE_EXHAUSTED, None, "a 65 KiB GetBoard")
    eq(board_seq(s, a["token"], board), seq1, "seq after over-size messages")


# ---------------------------------------------------------------------------
# Subscribe


class Stream:
    """A server stream read with one overall deadline."""

    def __init__(self, call, what):
        self.call = call
        self.what = what
        # Messages read ahead and put back, returned first by next().
        self.ahead = []

    def next(self):
        if self.ahead:
            return self.ahead.pop(0)
        try:
            return next(self.call)
        except StopIteration:
            raise Failure(f"{self.what}: the stream ended (OK) early")
        except grpc.RpcError as e:
            raise Failure(f"{self.what}: the stream failed: {e.code()} {e.details()!r} "
                          f"(corkboard-error-code {err_code_trailer(e)!r})")

    def end(self):
        """Reads until the stream ends; returns ('OK', []) or (status name, []) plus anything read."""
        extra, self.ahead = self.ahead, []
        try:
            for m in self.call:
                extra.append(m)
        except grpc.RpcError as e:
            return e.code().name, extra, err_code_trailer(e)
        return "OK", extra, None


def subscribe_start(s, md, board, since=None, deadline=STREAM_DEADLINE):
    """Subscribes; reads the snapshot or the replay, then `subscribed`, then presence members.

    Returns (stream, snapshot or None, replayed events, subscribed)."""
    req = pb.SubscribeRequest(board=board)
    if since is not None:
        req.since = since
    st = Stream(s.Subscribe(req, metadata=md, timeout=deadline), f"Subscribe({board}, since={since})")
    snapshot = None
    replay = []
    m = st.next()
    if m.WhichOneof("update") == "snapshot":
        snapshot = m.snapshot
        m = st.next()
    while m.WhichOneof("update") == "event":
        check_event(m.event, board)
        replay.append(m.event)
        m = st.next()
    eq(m.WhichOneof("update"), "subscribed", "after the snapshot/replay")
    sub = m.subscribed
    eq(sub.board, board, "subscribed.board")
    eq(sub.replayed, len(replay), "subscribed.replayed")
    if snapshot is not None:
        eq(sub.seq, snapshot.seq, "subscribed.seq = the snapshot's seq")
        check(not replay, "a snapshot and a replay")
    if replay:
        eq([e.seq for e in replay], list(range(since + 1, since + 1 + len(replay))), "replayed seqs")
        eq(sub.seq, replay[-1].seq, "subscribed.seq = the last replayed")
    # The presence members come after `subscribed`; events committed while the
    # subscription started may come first (the contract orders events, not
    # presence among them). They are put back for the caller's live reads.
    m = st.next()
    early = []
    while m.WhichOneof("update") == "event":
        early.append(m)
        m = st.next()
    eq(m.WhichOneof("update"), "presence", "after subscribed")
    eq(m.presence.board, board, "presence.board")
    st.ahead.extend(early)
    return st, snapshot, replay, sub, m.presence


def scenario_subscribe(target, a):
    """Subscribe; print READY; then read `live` events (and presence), every seq once, in order.

    Args: token, board, since?, want_snapshot (default: since is None), want_replayed?,
    live (events to read after READY), end? ("revoked" | "deleted": then `unsubscribed`
    with that reason and the stream ends OK; or a status name such as "UNAVAILABLE" or
    "UNAUTHENTICATED": the stream ends with it)."""
    s = stub(target)
    md = meta(a["token"])
    board = a["board"]
    since = a.get("since")
    st, snapshot, replay, sub, presence = subscribe_start(s, md, board, since, a.get("deadline", STREAM_DEADLINE))
    want_snapshot = a.get("want_snapshot", since is None)
    eq(snapshot is not None, want_snapshot, "a snapshot first")
    if "want_replayed" in a:
        eq(sub.replayed, a["want_replayed"], "replayed")
    if snapshot is not None:
        out("MSG", {"snapshot": to_json(snapshot), "seq": snapshot.seq})
    for e in replay:
        out("EVENT", event_dict(e))
    out("MSG", {"presence": to_json(presence)})
    out("READY", str(sub.seq))
    last = sub.seq
    seen = 0
    end = a.get("end")
    while seen < a.get("live", 0):
        m = st.next()
        kind = m.WhichOneof("update")
        if kind == "presence":
            check(not m.presence.members, "a second full member list")
            out("MSG", {"presence": to_json(m.presence)})
            continue
        eq(kind, "event", "a live message")
        ev = m.event
        check_event(ev, board)
        eq(ev.seq, last + 1, "the next seq (exactly once, in order)")
        last = ev.seq
        seen += 1
        out("EVENT", event_dict(ev))
    if end in ("revoked", "deleted"):
        while True:
            m = st.next()
            kind = m.WhichOneof("update")
            if kind == "presence":
                continue
            if kind == "event":
                check_event(m.event, board)
                eq(m.event.seq, last + 1, "the next seq")
                last = m.event.seq
                out("EVENT", event_dict(m.event))
                continue
            eq(kind, "unsubscribed", "after the lost access")
            eq(m.unsubscribed.board, board, "unsubscribed.board")
            eq(m.unsubscribed.reason, end, "unsubscribed.reason")
            out("MSG", {"unsubscribed": to_json(m.unsubscribed)})
            break
        status, extra, _ = st.end()
        out("END", status)
        eq(status, "OK", "the stream's end after unsubscribed")
        check(not extra, f"messages after unsubscribed: {extra}")
    elif end:
        status, extra, code = st.end()
        for m in extra:
            if m.WhichOneof("update") == "event":
                eq(m.event.seq, last + 1, "the next seq")
                last = m.event.seq
                out("EVENT", event_dict(m.event))
        out("END", status)
        eq(status, end, "the stream's end")
    else:
        st.call.cancel()
    out("LAST", str(last))


def scenario_resume(target, a):
    """Cancel a Subscribe midway while another client writes; resume with since = last seen:
    every event exactly once, in order, no gap, and no second snapshot."""
    s = stub(target)
    md = meta(a["token"])
    board = a["board"]
    writes = a.get("writes", 60)
    cut_at = a.get("cut_after", 15)
    st, snapshot, _, sub, _ = subscribe_start(s, md, board)
    check(snapshot is not None, "no snapshot on the first Subscribe")
    start = sub.seq
    errors = []
    done = [0]

    def writer():
        w = stub(target)
        wmd = meta(a["writer_token"])
        try:
            first = None
            for i in range(writes):
                done[0] = i
                if first is not None and i % 3 == 2:
                    w.UpdateNote(pb.UpdateNoteRequest(board=board, id=first, x=i), metadata=wmd,
                                 timeout=CALL_TIMEOUT)
                else:
                    r = w.CreateNote(pb.CreateNoteRequest(board=board, x=i, y=1, text=f"w{i}"), metadata=wmd,
                                     timeout=CALL_TIMEOUT)
                    first = first or r.note.id
                time.sleep(0.01)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    seqs = []
    last = start
    while len(seqs) < cut_at:
        m = st.next()
        if m.WhichOneof("update") != "event":
            continue
        check_event(m.event, board)
        seqs.append(m.event.seq)
        last = m.event.seq
    st.call.cancel()
    cut = last
    # Writes go on while nobody listens: wait until a few more are made (on a
    # loaded machine a fixed pause may see none).
    at_cut = done[0]
    deadline = time.time() + 10
    while done[0] < min(at_cut + 3, writes - 1) and time.time() < deadline:
        time.sleep(0.01)
    st2, snap2, replay, sub2, _ = subscribe_start(s, md, board, since=last)
    check(snap2 is None, "a snapshot on resume with a since within the log")
    seqs.extend(e.seq for e in replay)
    last = sub2.seq if replay else last
    target_seq = start + writes
    while last < target_seq:
        m = st2.next()
        if m.WhichOneof("update") != "event":
            continue
        check_event(m.event, board)
        seqs.append(m.event.seq)
        last = m.event.seq
    st2.call.cancel()
    t.join(10)
    check(not t.is_alive(), "the writer did not finish")
    if errors:
        raise Failure(f"writer failed: {errors[0]!r}")
    eq(seqs, list(range(start + 1, target_seq + 1)), "every event exactly once, in order")
    check(len(replay) > 0, "nothing was written while disconnected (no replay to test)")
    out("MSG", {"cut_at": cut, "replayed": len(replay), "events": len(seqs)})


# ---------------------------------------------------------------------------
# Connect


class Session:
    """A Connect stream: a queue of ClientMessages out, a deadline on the whole call."""

    def __init__(self, s, md, deadline=STREAM_DEADLINE):
        self.q = queue.Queue()
        self.call = s.Connect(self._requests(), metadata=md, timeout=deadline)
        self.pending = []
        self.next_id = 0

    def _requests(self):
        while True:
            m = self.q.get()
            if m is None:
                return
            yield m

    def send(self, **kw):
        self.q.put(pb.ClientMessage(**kw))  # no fields: an empty message

    def close(self):
        self.q.put(None)

    def recv(self):
        if self.pending:
            return self.pending.pop(0)
        try:
            return next(self.call)
        except StopIteration:
            raise Failure("Connect: the stream ended (OK) early")
        except grpc.RpcError as e:
            raise Failure(f"Connect: the stream failed: {e.code()} {e.details()!r} "
                          f"(corkboard-error-code {err_code_trailer(e)!r})")

    def recv_until(self, pred, what):
        """The first message (kept ones first) for which pred(msg); the others are kept, in order."""
        for i, m in enumerate(self.pending):
            if pred(m):
                return self.pending.pop(i)
        for _ in range(1000):
            m = self.recv_raw()
            if pred(m):
                return m
            self.pending.append(m)
        raise Failure(f"Connect: no {what}")

    def recv_raw(self):
        try:
            return next(self.call)
        except StopIteration:
            raise Failure("Connect: the stream ended (OK) early")
        except grpc.RpcError as e:
            raise Failure(f"Connect: the stream failed: {e.code()} {e.details()!r}")

    def call_rpc(self, **method):
        self.next_id += 1
        cid = f"c{self.next_id}"
        self.send(call=pb.Call(id=cid, **method))
        m = self.recv_until(lambda m: m.WhichOneof("msg") == "result" and m.result.id == cid, f"result {cid}")
        return m.result

    def subscribe(self, board, since=None):
        req = pb.SubscribeRequest(board=board)
        if since is not None:
            req.since = since
        self.send(subscribe=req)
        got = []
        while True:
            m = self.recv()
            kind = m.WhichOneof("msg")
            if kind == "error":
                return got, m.error
            eq(kind, "update", "Connect: a message while subscribing")
            got.append(m.update)
            if m.update.WhichOneof("update") == "presence" and any(
                    u.WhichOneof("update") == "subscribed" for u in got):
                return got, None


def is_event(m, kind):
    return m.WhichOneof("msg") == "update" and m.update.WhichOneof("update") == "event" and m.update.event.kind == kind


def scenario_connect(target, a):
    """Connect: welcome, subscribe, calls (each one result with its id), unsubscribe,
    a failed subscribe, and a signal between two sessions."""
    s = stub(target)
    board = a["board"]
    sess = Session(s, meta(a["token"]))
    w = sess.recv()
    eq(w.WhichOneof("msg"), "welcome", "the first server message")
    check(w.welcome.session, "welcome.session")
    eq(w.welcome.user.username, a["username"], "welcome.user")
    check(w.welcome.server.startswith("corkboard"), f"welcome.server {w.welcome.server!r}")
    ups, err = sess.subscribe(board)
    check(err is None, f"subscribe failed: {err}")
    kinds = [u.WhichOneof("update") for u in ups]
    eq(kinds, ["snapshot", "subscribed", "presence"], "subscribe messages")
    snap, subd = ups[0].snapshot, ups[1].subscribed
    eq((subd.board, subd.seq, subd.replayed), (board, snap.seq, 0), "subscribed")
    seq = snap.seq

    # create_note: one result with the id, and the event on the subscription.
    r = sess.call_rpc(create_note=pb.CreateNoteRequest(board=board, text="via connect", x=1, y=2))
    eq(r.WhichOneof("result"), "note", f"create_note result {r}")
    eq(r.note.seq, seq + 1, "create_note seq")
    note = r.note.note
    ev = sess.recv_until(lambda m: is_event(m, "note.created"), "the note.created event")
    eq((ev.update.event.kind, ev.update.event.seq), ("note.created", seq + 1), "event after create_note")
    eq(ev.update.event.note.id, note.id, "the created note in the event")

    r = sess.call_rpc(update_note=pb.UpdateNoteRequest(board=board, id=note.id, w=300))
    eq(r.WhichOneof("result"), "note", f"update_note result {r}")
    eq(r.note.note.w, 300.0, "update_note w")
    ev = sess.recv_until(lambda m: is_event(m, "note.updated"), "the note.updated event")
    e = ev.update.event
    eq((e.kind, e.seq), ("note.updated", seq + 2), "event after update_note")
    eq(e.delta.id, note.id, "delta.id")
    eq(e.delta.version, seq + 2, "delta.version")
    check(e.delta.HasField("w") and e.delta.w == 300.0, "delta.w")
    for f in ("text", "x", "y", "h", "color"):
        check(not e.delta.HasField(f), f"delta has {f}, which the update did not name")

    # A conflict: result.error with code conflict and the current note.
    r = sess.call_rpc(update_note=pb.UpdateNoteRequest(board=board, id=note.id, base_version=seq + 1, w=10))
    eq(r.WhichOneof("result"), "error", f"stale update_note result {r}")
    eq(r.error.code, "conflict", "error.code")
    eq((r.error.current.id, r.error.current.w), (note.id, 300.0), "error.current")
    r = sess.call_rpc(update_note=pb.UpdateNoteRequest(board=board, id=note.id))
    eq((r.WhichOneof("result"), r.error.code), ("error", "bad_request"), "an empty update_note")

    r = sess.call_rpc(rename_board=pb.RenameBoardRequest(board=board, title="Renamed over gRPC"))
    eq(r.WhichOneof("result"), "board", f"rename_board result {r}")
    eq(r.board.title, "Renamed over gRPC", "rename_board title")
    ev = sess.recv_until(lambda m: is_event(m, "board.updated"), "board.updated")
    eq(ev.update.event.title, "Renamed over gRPC", "board.updated title")

    r = sess.call_rpc(get_board=pb.GetBoardRequest(board=board))
    eq(r.WhichOneof("result"), "snapshot", f"get_board result {r}")
    eq(r.snapshot.seq, seq + 3, "get_board seq")
    r = sess.call_rpc(delete_note=pb.DeleteNoteRequest(board=board, id=note.id))
    eq((r.WhichOneof("result"), r.deleted.seq), ("deleted", seq + 4), "delete_note result")
    ev = sess.recv_until(lambda m: is_event(m, "note.deleted"), "note.deleted")
    eq(ev.update.event.note_id, note.id, "note.deleted note_id")
    r = sess.call_rpc(get_board=pb.GetBoardRequest(board="no-such-board"))
    eq((r.WhichOneof("result"), r.error.code), ("error", "not_found"), "get_board of a missing board")

    # A signal from a second session reaches this one, with `from`; not its sender.
    other = Session(s, meta(a["peer_token"]))
    eq(other.recv().WhichOneof("msg"), "welcome", "peer welcome")
    _, perr = other.subscribe(board)
    check(perr is None, f"peer subscribe failed: {perr}")
    other.send(signal=pb.Signal(board=board, name="cursor", data_json='{"x":1,"y":2}'))
    sig = sess.recv_until(lambda m: m.WhichOneof("msg") == "signal", "the peer's signal")
    eq((sig.signal.board, sig.signal.name, json.loads(sig.signal.data_json)), (board, "cursor", {"x": 1, "y": 2}),
       "signal")
    eq(sig.signal.__getattribute__("from").username, a["peer_username"], "signal.from")
    out("SIGNAL", to_json(sig.signal))

    # unsubscribe → unsubscribed{board, reason ""}.
    sess.send(unsubscribe=board)
    m = sess.recv_until(lambda m: m.WhichOneof("msg") == "update"
                        and m.update.WhichOneof("update") == "unsubscribed", "unsubscribed")
    eq((m.update.unsubscribed.board, m.update.unsubscribed.reason), (board, ""), "unsubscribed")
    # A failed subscribe → error{code, board}.
    sess.send(subscribe=pb.SubscribeRequest(board="no-such-board"))
    m = sess.recv_until(lambda m: m.WhichOneof("msg") == "error", "the subscribe error")
    eq((m.error.code, m.error.board), ("not_found", "no-such-board"), "subscribe error")
    other.call.cancel()
    # Half-closing keeps the session (it may still receive); the client cancels to leave.
    sess.close()
    sess.call.cancel()


def scenario_connect_hold(target, a):
    """Connect, subscribe, READY; forward signals both ways with the harness; read until the stream ends.

    Args: token, board, end (a status name the stream must end with, or "OK"),
    send_signal? (a signal name to send after READY), want_signal_from? (a username whose
    signal must arrive), live? (events to expect)."""
    s = stub(target)
    board = a["board"]
    sess = Session(s, meta(a["token"]), a.get("deadline", STREAM_DEADLINE))
    eq(sess.recv().WhichOneof("msg"), "welcome", "the first server message")
    _, err = sess.subscribe(board)
    check(err is None, f"subscribe failed: {err}")
    out("READY")
    if a.get("send_signal"):
        sess.send(signal=pb.Signal(board=board, name=a["send_signal"], data_json='{"from":"grpc"}'))
    want_from = a.get("want_signal_from")
    live = a.get("live", 0)
    got_signal = False
    events = 0
    status, code = "OK", None
    try:
        for m in sess.call:
            kind = m.WhichOneof("msg")
            if kind == "signal":
                out("SIGNAL", to_json(m.signal))
                if want_from and getattr(m.signal, "from").username == want_from:
                    got_signal = True
            elif kind == "update" and m.update.WhichOneof("update") == "event":
                events += 1
                out("EVENT", event_dict(m.update.event))
            if a.get("end") == "OK" and (not want_from or got_signal) and events >= live:
                sess.close()
                sess.call.cancel()
                break
    except grpc.RpcError as e:
        status, code = e.code().name, err_code_trailer(e)
    out("END", f"{status} {code}")
    eq(status, a.get("end", "OK"), "how the Connect stream ended")
    if want_from:
        check(got_signal, f"no signal from {want_from}")
    check(events >= live, f"{events} events, want {live}")


def scenario_connect_edges(target, a):
    """Connect's rough edges: a viewer's call is `forbidden` but its signal is delivered;
    bad signals and an empty message answer `error` and keep the session; a signal to a
    board not subscribed is `not_found`; a call with no method is an error result with
    its id; a message over 64 KiB ends the stream with RESOURCE_EXHAUSTED.

    Args: owner_token, viewer_token, board, viewer_username."""
    s = stub(target)
    board = a["board"]
    owner = Session(s, meta(a["owner_token"]))
    eq(owner.recv().WhichOneof("msg"), "welcome", "owner welcome")
    _, err = owner.subscribe(board)
    check(err is None, f"owner subscribe: {err}")
    v = Session(s, meta(a["viewer_token"]))
    eq(v.recv().WhichOneof("msg"), "welcome", "viewer welcome")
    _, err = v.subscribe(board)
    check(err is None, f"viewer subscribe: {err}")

    r = v.call_rpc(create_note=pb.CreateNoteRequest(board=board, x=1, y=1))
    eq((r.WhichOneof("result"), r.error.code), ("error", "forbidden"), "a viewer's create_note")
    r = v.call_rpc(get_board=pb.GetBoardRequest(board=board))
    eq(r.WhichOneof("result"), "snapshot", "a viewer's get_board")
    v.send(signal=pb.Signal(board=board, name="selection", data_json='{"ids":["a"]}'))
    sig = owner.recv_until(lambda m: m.WhichOneof("msg") == "signal", "the viewer's signal")
    eq(getattr(sig.signal, "from").username, a["viewer_username"], "signal.from")

    def error_after(what, **kw):
        v.send(**kw)
        m = v.recv_until(lambda m: m.WhichOneof("msg") == "error", what)
        return m.error

    e = error_after("bad name", signal=pb.Signal(board=board, name="shout", data_json="{}"))
    eq((e.code, e.board), ("bad_request", board), "a signal with an unknown name")
    e = error_after("bad data", signal=pb.Signal(board=board, name="typing", data_json="[1,2]"))
    check(e.code in ("bad_request", "invalid_message"), f"a signal whose data is not an object: {e}")
    e = error_after("not JSON", signal=pb.Signal(board=board, name="typing", data_json="{nope"))
    check(e.code in ("bad_request", "invalid_message"), f"a signal whose data is not JSON: {e}")
    e = error_after("big data", signal=pb.Signal(board=board, name="cursor",
                                                  data_json=json.dumps({"x": "y" * 2000})))
    eq(e.code, "too_large", "a signal over 1 KiB")
    e = error_after("unsubscribed board", signal=pb.Signal(board="other-board", name="typing", data_json="{}"))
    eq((e.code, e.board), ("not_found", "other-board"), "a signal to a board not subscribed")
    e = error_after("empty message", )
    eq(e.code, "invalid_message", "an empty ClientMessage")
    v.send(call=pb.Call(id="no-method"))
    m = v.recv_until(lambda m: m.WhichOneof("msg") == "result" and m.result.id == "no-method", "no-method result")
    eq(m.result.WhichOneof("result"), "error", "a call with no method")
    check(m.result.error.code in ("bad_request", "invalid_message", "unknown_method"),
          f"a call with no method: {m.result.error}")
    # Still alive after all that.
    r = v.call_rpc(get_board=pb.GetBoardRequest(board=board))
    eq(r.WhichOneof("result"), "snapshot", "get_board after the errors")
    # No signal of the bad ones reached the owner.
    owner.send(call=pb.Call(id="sync", get_board=pb.GetBoardRequest(board=board)))
    owner.recv_until(lambda m: m.WhichOneof("msg") == "result" and m.result.id == "sync", "sync")
    bad = [m for m in owner.pending if m.WhichOneof("msg") == "signal"]
    eq(bad, [], "rejected signals delivered")

    # Over 64 KiB: the stream ends with RESOURCE_EXHAUSTED.
    v.send(call=pb.Call(id="big", create_note=pb.CreateNoteRequest(board=board, x=1, y=1, text="z" * 70_000)))
    status, code = "OK", None
    try:
        for _ in v.call:
            pass
    except grpc.RpcError as e:
        status, code = e.code().name, err_code_trailer(e)
    eq(status, "RESOURCE_EXHAUSTED", "Connect after a 70 KB message")
    eq(code, "too_large", "its corkboard-error-code")
    owner.call.cancel()


def scenario_unary_status(target, a):
    """One ListBoards with `token`; requires the status `status` (a name, or OK)."""
    s = stub(target)
    if a["status"] == "OK":
        s.ListBoards(pb.ListBoardsRequest(), metadata=meta(a["token"]), timeout=CALL_TIMEOUT)
        return
    expect_error(lambda: s.ListBoards(pb.ListBoardsRequest(), metadata=meta(a["token"]), timeout=CALL_TIMEOUT),
                 getattr(grpc.StatusCode, a["status"]), a.get("code"), "ListBoards")


def scenario_connect_many(target, a):
    """Connect: 100 calls sent at once are each answered exactly once with their id;
    subscribing again with an earlier `since` restarts the subscription (a replay)."""
    s = stub(target)
    board = a["board"]
    sess = Session(s, meta(a["token"]))
    eq(sess.recv().WhichOneof("msg"), "welcome", "welcome")
    ups, err = sess.subscribe(board)
    check(err is None, f"subscribe: {err}")
    seq0 = ups[1].subscribed.seq
    n = 100
    for i in range(n):
        sess.send(call=pb.Call(id=f"m{i}", create_note=pb.CreateNoteRequest(board=board, x=i, y=0, text=f"n{i}")))
    results = {}
    events = []
    while len(results) < n or len(events) < n:
        m = sess.recv()
        kind = m.WhichOneof("msg")
        if kind == "result":
            check(m.result.id not in results, f"a second result for {m.result.id}")
            eq(m.result.WhichOneof("result"), "note", f"result {m.result.id}: {m.result}")
            results[m.result.id] = m.result.note.seq
        elif kind == "update" and m.update.WhichOneof("update") == "event":
            events.append(m.update.event.seq)
    eq(sorted(results), sorted(f"m{i}" for i in range(n)), "result ids")
    eq(sorted(results.values()), list(range(seq0 + 1, seq0 + n + 1)), "result seqs")
    eq(events, list(range(seq0 + 1, seq0 + n + 1)), "events in order, once each")
    # Subscribe again from 3 before the head: a replay of 3, then subscribed.
    head = seq0 + n
    sess.send(subscribe=pb.SubscribeRequest(board=board, since=head - 3))
    got = []
    while True:
        m = sess.recv()
        if m.WhichOneof("msg") != "update":
            continue
        u = m.update
        k = u.WhichOneof("update")
        got.append(k)
        if k == "subscribed":
            eq((u.subscribed.seq, u.subscribed.replayed), (head, 3), "resubscribed")
            break
    eq([k for k in got if k in ("event", "snapshot")], ["event"] * 3, f"the restart's replay: {got}")
    sess.call.cancel()


# ---------------------------------------------------------------------------
# Notifications


def scenario_notifications(target, a):
    """Notifications: the unread ones (or those after `after`), an `unread` count, READY,
    then `live` live notifications (each printed) with the count changing.

    Args: token, after?, want_replay (a list of kinds, in order), want_unread, live,
    end? (a status name the stream must then end with)."""
    s = stub(target)
    req = pb.NotificationsRequest()
    if a.get("after") is not None:
        req.after = a["after"]
    call = s.Notifications(req, metadata=meta(a["token"]), timeout=a.get("deadline", STREAM_DEADLINE))
    st = Stream(call, "Notifications")
    replay = []
    m = st.next()
    while m.WhichOneof("update") == "notification":
        replay.append(m.notification)
        out("MSG", {"notification": to_json(m.notification)})
        m = st.next()
    eq(m.WhichOneof("update"), "unread", "after the replay")
    eq(m.unread, a["want_unread"], "the unread count at the start")
    eq([n.kind for n in replay], a["want_replay"], "replayed notification kinds")
    ids = [int(n.id) for n in replay]
    eq(ids, sorted(ids), "replayed in id order")
    if a.get("after") is not None:
        check(all(i > int(a["after"]) for i in ids), "a notification at or before `after`")
    for n in replay:
        check(n.by.username and n.board and n.at.seconds > 0, f"notification fields: {n}")
    out("READY", str(m.unread))
    unread = m.unread
    got = 0
    counts = []
    while got < a.get("live", 0) or (a.get("live", 0) and len(counts) == 0):
        m = st.next()
        if m.WhichOneof("update") == "notification":
            got += 1
            check(not m.notification.read, "a live notification marked read")
            out("NOTE", to_json(m.notification))
        else:
            check(m.unread != unread, f"an unread count that did not change ({m.unread})")
            unread = m.unread
            counts.append(unread)
            out("MSG", {"unread": unread})
    if a.get("then_unread") is not None:
        out("READY2", str(unread))
        while True:
            m = st.next()
            if m.WhichOneof("update") == "unread":
                out("MSG", {"unread": m.unread})
                if m.unread == a["then_unread"]:
                    break
    if a.get("end"):
        status, extra, code = st.end()
        out("END", f"{status} {code}")
        eq(status, a["end"], "how the Notifications stream ended")
    else:
        call.cancel()


# ---------------------------------------------------------------------------
# Health and reflection


def scenario_health(target, a):
    """grpc.health.v1 Check("") → SERVING; reflection (v1) lists corkboard.v1.Corkboard
    and serves its file descriptor."""
    from google.protobuf import descriptor_pb2, descriptor_pool
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection_pb2

    ch = channel(target)
    h = health_pb2_grpc.HealthStub(ch)
    r = h.Check(health_pb2.HealthCheckRequest(service=""), timeout=CALL_TIMEOUT)
    eq(r.status, health_pb2.HealthCheckResponse.SERVING, "health of service \"\"")
    r = h.Check(health_pb2.HealthCheckRequest(service="corkboard.v1.Corkboard"), timeout=CALL_TIMEOUT)
    eq(r.status, health_pb2.HealthCheckResponse.SERVING, "health of corkboard.v1.Corkboard")

    # grpc.reflection.v1 has the same messages as v1alpha (grpcio-reflection's client only
    # speaks v1alpha), so the v1 method is called with the v1alpha message classes.
    info = ch.stream_stream(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    reqs = [
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol="corkboard.v1.Corkboard"),
    ]
    resps = list(info(iter(reqs), timeout=CALL_TIMEOUT))
    eq(len(resps), 2, "reflection answers")
    services = [sv.name for sv in resps[0].list_services_response.service]
    check("corkboard.v1.Corkboard" in services, f"reflection services: {services}")
    check("grpc.health.v1.Health" in services, f"reflection services: {services}")
    files = resps[1].file_descriptor_response.file_descriptor_proto
    check(files, f"no file descriptor for corkboard.v1.Corkboard: {resps[1]}")
    pool = descriptor_pool.DescriptorPool()
    protos = [descriptor_pb2.FileDescriptorProto.FromString(b) for b in files]
    by_name = {p.name: p for p in protos}
    added = set()

    def add(p):
        for dep in p.dependency:
            if dep in by_name and dep not in added:
                add(by_name[dep])
            elif dep not in by_name and dep not in added:
                # Well-known types may be left out: take them from the runtime's own pool.
                from google.protobuf import descriptor_pool as dp
                fd = dp.Default().FindFileByName(dep)
                fdp = descriptor_pb2.FileDescriptorProto()
                fd.CopyToProto(fdp)
                pool.Add(fdp)
                added.add(dep)
        if p.name not in added:
            pool.Add(p)
            added.add(p.name)

    for p in protos:
        add(p)
    svc = pool.FindServiceByName("corkboard.v1.Corkboard")
    methods = sorted(m.name for m in svc.methods)
    want = sorted(["ListBoards", "GetBoard", "CreateNote", "UpdateNote", "DeleteNote", "Subscribe", "Connect",
                   "Notifications"])
    check(set(want) <= set(methods), f"reflected methods {methods}")
    out("MSG", {"services": services, "methods": methods})


def scenario_tls(target, a):
    """Under TLS (h2 through ALPN): ListBoards, a Subscribe that sees a CreateNote.

    Args: token, board, ca (path of the server's PEM certificate), name (its DNS name)."""
    with open(a["ca"], "rb") as f:
        creds = grpc.ssl_channel_credentials(root_certificates=f.read())
    ch = grpc.secure_channel(target, creds, options=(("grpc.ssl_target_name_override", a["name"]),))
    s = pb_grpc.CorkboardStub(ch)
    md = meta(a["token"])
    boards = s.ListBoards(pb.ListBoardsRequest(), metadata=md, timeout=CALL_TIMEOUT).boards
    check(a["board"] in [b.id for b in boards], f"ListBoards over TLS: {boards}")
    st, snapshot, _, sub, _ = subscribe_start(s, md, a["board"])
    check(snapshot is not None, "a snapshot first")
    r = s.CreateNote(pb.CreateNoteRequest(board=a["board"], text="over tls", x=1, y=1), metadata=md,
                     timeout=CALL_TIMEOUT)
    while True:
        m = st.next()
        if m.WhichOneof("update") == "event":
            break
    eq((m.event.seq, m.event.note.id), (r.seq, r.note.id), "the event of the note over TLS")
    st.call.cancel()
    expect_error(lambda: s.ListBoards(pb.ListBoardsRequest(), timeout=CALL_TIMEOUT),
                 grpc.StatusCode.UNAUTHENTICATED, "unauthorized", "ListBoards over TLS without a token")


# ---------------------------------------------------------------------------
# Small steps the harness composes (cluster, cross-door)


def scenario_create_note(target, a):
    """One CreateNote; prints NOTE with the result's note and seq."""
    s = stub(target)
    r = s.CreateNote(pb.CreateNoteRequest(board=a["board"], text=a.get("text", ""), x=a.get("x", 0),
                                          y=a.get("y", 0)), metadata=meta(a["token"]), timeout=CALL_TIMEOUT)
    d = to_json(r.note)
    d["seq"] = r.seq
    out("NOTE", d)


def scenario_write(target, a):
    """gRPC writes for other doors to watch: create, update (x and color), delete.
    Prints NOTE lines with each result's seq."""
    s = stub(target)
    md = meta(a["token"])
    board = a["board"]
    c = s.CreateNote(pb.CreateNoteRequest(board=board, text="from grpc", x=5, y=6, color=pb.COLOR_PINK),
                     metadata=md, timeout=CALL_TIMEOUT)
    out("NOTE", {"op": "create", "id": c.note.id, "seq": c.seq})
    u = s.UpdateNote(pb.UpdateNoteRequest(board=board, id=c.note.id, x=50, color=pb.COLOR_GREEN), metadata=md,
                     timeout=CALL_TIMEOUT)
    out("NOTE", {"op": "update", "id": c.note.id, "seq": u.seq})
    d = s.DeleteNote(pb.DeleteNoteRequest(board=board, id=c.note.id), metadata=md, timeout=CALL_TIMEOUT)
    out("NOTE", {"op": "delete", "id": c.note.id, "seq": d.seq})


SCENARIOS = {name[len("scenario_"):]: fn for name, fn in globals().items() if name.startswith("scenario_")}


def main(argv):
    if len(argv) < 3 or argv[1] not in SCENARIOS:
        print(f"usage: {argv[0]} <scenario> <host:port> ['<json args>']\nscenarios: {', '.join(sorted(SCENARIOS))}",
              file=sys.stderr)
        return 2
    name, target = argv[1], argv[2]
    args = json.loads(argv[3]) if len(argv) > 3 else {}
    try:
        SCENARIOS[name](target, args)
    except Failure as e:
        print(f"FAIL {name}: {e}", file=sys.stderr)
        return 1
    except grpc.RpcError as e:
        print(f"FAIL {name}: unexpected RPC error {e.code()} {e.details()!r} "
              f"(corkboard-error-code {err_code_trailer(e)!r})", file=sys.stderr)
        traceback.print_exc()
        return 1
    except Exception:  # noqa: BLE001
        print(f"FAIL {name}: crashed", file=sys.stderr)
        traceback.print_exc()
        return 1
    print(f"PASS {name}", flush=True)
    return 0


if __name__ == "__main__":
    code = main(sys.argv)
    sys.stdout.flush()
    sys.stderr.flush()
    # Not sys.exit: a request-iterator thread blocked on its queue must not hold the exit.
    os._exit(code)

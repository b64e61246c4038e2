"""Writes the seed inputs of the `text_update` fuzz target (fuzz/corpus/text_update/seed-*)
with pycrdt, a Yjs implementation independent of the server's code.

    crates/corkboard/tests/grpc-client/.venv/bin/python fuzz/text_update_seeds.py

Input layout (see fuzz_targets/text_update.rs): flags byte, u16 LE length n,
n bytes of a first update, then the second update (or replacement text).
Updates are made against the note's seeded document: BASE inserted by
client 0, which is what the server's `TextDoc::load(None, BASE)` holds.
"""

import os
import random
import struct

from pycrdt import Doc, Map, Text

BASE = "Hello, wörld 👋 世界"
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "text_update")


def base_state():
    d = Doc(client_id=0)
    d.get("text", type=Text).insert(0, BASE)
    return d.get_update()


def client(cid, state=None):
    d = Doc(client_id=cid)
    t = d.get("text", type=Text)
    d.apply_update(state if state is not None else base_state())
    return d, t


def change(d, f):
    sv = d.get_state()
    f()
    return d.get_update(sv)


def b(s, chars):  # pycrdt offsets are UTF-8 bytes
    return len(s[:chars].encode())


def seed(name, first=b"", second=b"", flags=0):
    with open(os.path.join(OUT, f"seed-{name}"), "wb") as f:
        f.write(bytes([flags]) + struct.pack("<H", len(first)) + first + second)


os.makedirs(OUT, exist_ok=True)
d11, t11 = client(11)
ins = change(d11, lambda: t11.insert(0, "abc"))
seed("insert", second=ins)
d22, t22 = client(22)
conc = change(d22, lambda: t22.insert(b(BASE, 14), "Y😀"))
seed("concurrent-inserts", first=ins, second=conc)
dep = change(d11, lambda: t11.__delitem__(slice(b(str(t11), 1), b(str(t11), 5))))
seed("insert-then-delete", first=ins, second=dep)
d33, t33 = client(33)
seed("delete-base", second=change(d33, lambda: t33.__delitem__(slice(b(BASE, 7), b(BASE, 13)))))
dm, tm = client(44)
seed("map-root", second=change(dm, lambda: dm.get("meta", type=Map).__setitem__("k", "v")))
df, tf = client(45)
seed("format", second=change(df, lambda: tf.format(0, 5, {"bold": True})))
dfi, tfi = client(46)
seed("formatted-insert", second=change(dfi, lambda: tfi.insert(0, "b", {"bold": True})))
de, te = client(47)
seed("embed", second=change(de, lambda: te.insert_embed(0, {"image": "x"})))
dmiss, tmiss = client(48)
change(dmiss, lambda: tmiss.insert(0, "1"))
seed("missing-dependency", second=change(dmiss, lambda: tmiss.insert(1, "2")))
d0, t0 = client(0)
seed("server-client-id", second=change(d0, lambda: t0.insert(0, "srv")))
dc, tc = client(49)
seed("control-char", second=change(dc, lambda: tc.insert(0, "a\x07")))
dl, tl = client(50)
seed("too-long", second=change(dl, lambda: tl.insert(0, "x" * (10_001 - len(BASE)))))
seed("replace", first=ins, second="abcHello, world 🌍 世界 new".encode(), flags=1)
seed("reload-then-concurrent", first=ins, second=conc, flags=2)
rng = random.Random(14)
seed("random-bytes", second=bytes(rng.randrange(256) for _ in range(40)))
# Many small edits by two clients, merged: a history with interleaved items.
da, ta = client(61)
db, tb = client(62)
hist_a, hist_b = [], []
for i in range(20):
    for d, t, h in ((da, ta, hist_a), (db, tb, hist_b)):
        s = str(t)
        n = len(s)
        if n and rng.random() < 0.3:
            at = rng.randrange(n)
            h.append(change(d, lambda: t.__delitem__(slice(b(s, at), b(s, at + 1)))))
        else:
            at = rng.randint(0, n)
            h.append(change(d, lambda: t.insert(b(s, at), rng.choice(["q", "é", "世", "😀"]))))
from pycrdt import merge_updates  # noqa: E402

seed("two-histories", first=merge_updates(*hist_a), second=merge_updates(*hist_b))
print(f"wrote {len(os.listdir(OUT))} seeds to {OUT}")

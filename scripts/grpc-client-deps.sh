#!/usr/bin/env bash
# The Python gRPC client the tests drive (tests/grpc_python.rs) and the example
# (examples/grpc_client.py) use: a venv with the pinned grpcio packages, and the
# Python stubs generated from proto/corkboard/v1/corkboard.proto.
#
# Idempotent: pip runs only when requirements.txt changed since the last install
# (a stamp file in the venv holds a copy of it); the stubs are regenerated only when
# the .proto is newer than them. Works on a clean clone (needs python3 ≥ 3.9 with
# the venv module, and PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."

dir=crates/corkboard/tests/grpc-client
venv="$dir/.venv"
req="$dir/requirements.txt"
stamp="$venv/.requirements.installed"
proto_root=proto
proto=corkboard/v1/corkboard.proto
gen="$dir/gen"

if [ ! -x "$venv/bin/python" ]; then
    echo "creating $venv"
    python3 -m venv "$venv"
fi

if [ -f "$stamp" ] && cmp -s "$req" "$stamp"; then
    echo "$venv: requirements already installed"
else
    echo "$venv: pip install -r $req"
    "$venv/bin/python" -m pip install --disable-pip-version-check --no-input -q -r "$req"
    cp "$req" "$stamp"
fi

out="$gen/corkboard/v1/corkboard_pb2.py"
if [ -f "$out" ] && [ "$out" -nt "$proto_root/$proto" ] && [ "$out" -nt "$stamp" ]; then
    echo "$gen: stubs up to date"
else
    echo "$gen: protoc $proto_root/$proto"
    rm -rf "$gen"
    mkdir -p "$gen"
    "$venv/bin/python" -m grpc_tools.protoc -I "$proto_root" \
        --python_out="$gen" --pyi_out="$gen" --grpc_python_out="$gen" "$proto_root/$proto"
    # Regular packages, so `import corkboard.v1.corkboard_pb2` works with gen/ on sys.path.
    touch "$gen/corkboard/__init__.py" "$gen/corkboard/v1/__init__.py"
fi

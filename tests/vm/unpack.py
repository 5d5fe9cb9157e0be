#!/usr/bin/env python3
"""unpack.py SERIAL_LOG OUTDIR: take the tar the guest sent over ttyS1
(base64 between CT-OUT-BEGIN and "CT-OUT-END SHA256"), check its sha256 and
unpack it into OUTDIR. Exit 1, saying why, when the data is missing,
truncated or damaged."""
import base64
import hashlib
import io
import sys
import tarfile


def main():
    if len(sys.argv) != 3:
        print("usage: unpack.py SERIAL_LOG OUTDIR", file=sys.stderr)
        return 2
    path, outdir = sys.argv[1], sys.argv[2]
    try:
        lines = open(path, "rb").read().decode("ascii", "replace").splitlines()
    except OSError as e:
        print(f"{path}: {e.strerror}", file=sys.stderr)
        return 1
    lines = [l.strip("\r\n ") for l in lines]
    try:
        begin = lines.index("CT-OUT-BEGIN")
    except ValueError:
        print(f"{path}: no CT-OUT-BEGIN marker: the guest never sent its results",
              file=sys.stderr)
        return 1
    end = next((i for i in range(begin + 1, len(lines))
                if lines[i].startswith("CT-OUT-END")), None)
    if end is None:
        print(f"{path}: no CT-OUT-END marker: output truncated", file=sys.stderr)
        return 1
    want = lines[end].split()[1] if len(lines[end].split()) > 1 else ""
    try:
        data = base64.b64decode("".join(lines[begin + 1:end]), validate=True)
    except ValueError as e:
        print(f"{path}: bad base64: {e}", file=sys.stderr)
        return 1
    got = hashlib.sha256(data).hexdigest()
    if got != want:
        print(f"{path}: sha256 {got} != {want} sent by the guest", file=sys.stderr)
        return 1
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(outdir, filter="data")
    return 0


if __name__ == "__main__":
    sys.exit(main())

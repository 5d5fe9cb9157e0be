#!/usr/bin/env python3
"""chunk_bounds.py FILE: the offsets at which FILE's chunks end, one a line,
from the chunk headers (format/FORMAT.md: "CTCK", header_size at +6,
comp_size at +36, summary_len at +40), starting after the file header. A
test cuts a trace at these offsets to play a writer that appends chunk by
chunk. The trailer's end is the last line."""
import struct, sys

data = open(sys.argv[1], "rb").read()
tlv_len = struct.unpack_from("<I", data, 12)[0]
off = 16 + tlv_len + 4
while off + 56 <= len(data) and data[off:off + 4] == b"CTCK":
    hsize = struct.unpack_from("<H", data, off + 6)[0]
    comp, sum_len = struct.unpack_from("<II", data, off + 36)
    off += hsize + sum_len + comp
    print(off)
if data[off:off + 4] == b"CTTR":
    print(off + 32)

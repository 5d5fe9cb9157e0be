#!/usr/bin/env python3
"""clean_text.py FILE..: exit 1 unless every file is terminal-clean text:
valid UTF-8, no C0 control but newline, no DEL, no C1 control (U+0080..
U+009F), no bidi control (U+061C, U+200E/F, U+202A..E, U+2066..9), no
U+2028/U+2029. Prints the first offence of each file."""
import sys

BAD = {0x61C, 0x200E, 0x200F, 0x2028, 0x2029} | set(range(0x202A, 0x202F)) | set(range(0x2066, 0x206A))
ok = True
for path in sys.argv[1:]:
    data = open(path, "rb").read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        print("%s: invalid UTF-8 at byte %d" % (path, e.start))
        ok = False
        continue
    for i, ch in enumerate(text):
        c = ord(ch)
        if (c < 0x20 and ch != "\n") or c == 0x7F or 0x80 <= c <= 0x9F or c in BAD:
            print("%s: U+%04X at character %d: %r" % (path, c, i, text[max(0, i - 20):i + 5]))
            ok = False
            break
sys.exit(0 if ok else 1)

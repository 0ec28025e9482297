#!/usr/bin/env python3
"""Hostile ZIP archives for the look-inside tests, written by Python's own zipfile module and then, where
the hostility lies in the headers, rewritten at the documented offsets of the ZIP format (APPNOTE.TXT 4.3.7
local file header, 4.3.12 central directory header, 4.3.16 end of central directory). Nothing here is a
hand-typed byte string: every archive starts as zipfile's output.

  overlap OUT ENTRIES KERNEL_BYTES
      David Fifield's overlapping-entries zip bomb ("A better zip bomb", 2019), in its simplest, fully
      overlapped form: one member of KERNEL_BYTES zeros, deflated once, and ENTRIES central directory entries
      (names 0, 1, 2, ...) that all point at that one local file. Each entry inflates to the whole kernel, so
      the archive unpacks to ENTRIES x KERNEL_BYTES from a few KiB, without nesting.
  sizelie OUT CLAIMED REAL_BYTES
      One member of REAL_BYTES bytes whose local and central headers claim it is CLAIMED bytes long.
  gzsizelie OUT CLAIMED REAL_BYTES
      A gzip file (Python's gzip module) of REAL_BYTES bytes whose trailer (ISIZE, RFC 1952) claims CLAIMED.
  names OUT
      Members named with `..` climbing out, absolute names, a NUL inside a name, and control characters
      (newline, carriage return, escape, delete), each holding a distinct short text.
  empties OUT COUNT
      COUNT empty members (names e/0, e/1, ...), stored.
"""

import gzip
import struct
import sys
import zipfile

LOCAL = b"PK\x03\x04"
CENTRAL = b"PK\x01\x02"
END = b"PK\x05\x06"


def overlap(out, entries, kernel_bytes):
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("0", bytes(kernel_bytes))
    data = open(out, "rb").read()
    end = data.rindex(END)
    cd_offset = struct.unpack_from("<I", data, end + 16)[0]
    central = data[cd_offset:end]
    assert central.startswith(CENTRAL)
    name_length = struct.unpack_from("<H", central, 28)[0]
    fixed = central[: 46 + name_length]
    extra = central[46 + name_length :]
    assert extra == b"", "one member, no trailing central entries expected"
    headers = []
    for i in range(entries):
        name = str(i).encode()
        header = bytearray(fixed[:46])
        struct.pack_into("<H", header, 28, len(name))
        struct.pack_into("<H", header, 30, 0)  # no extra field
        struct.pack_into("<H", header, 32, 0)  # no comment
        struct.pack_into("<I", header, 42, 0)  # every entry's local header is the first one
        headers.append(bytes(header) + name)
    new_central = b"".join(headers)
    trailer = bytearray(data[end : end + 22])
    struct.pack_into("<HH", trailer, 8, entries, entries)
    struct.pack_into("<I", trailer, 12, len(new_central))
    struct.pack_into("<I", trailer, 16, cd_offset)
    with open(out, "wb") as f:
        f.write(data[:cd_offset] + new_central + bytes(trailer))


def sizelie(out, claimed, real_bytes):
    content = bytes((i * 7919) % 251 for i in range(real_bytes))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("liar.bin", content)
    data = bytearray(open(out, "rb").read())
    assert data.startswith(LOCAL)
    struct.pack_into("<I", data, 22, claimed)  # local header: uncompressed size
    central = data.rindex(CENTRAL)
    struct.pack_into("<I", data, central + 24, claimed)  # central header: uncompressed size
    open(out, "wb").write(data)


def gzsizelie(out, claimed, real_bytes):
    content = bytes((i * 7919) % 251 for i in range(real_bytes))
    data = bytearray(gzip.compress(content, mtime=0))
    struct.pack_into("<I", data, len(data) - 4, claimed)
    open(out, "wb").write(data)


def names(out):
    members = {
        "../../../../../../../../../../../../tmp/hashcheck-evil-climbed": "climbed",
        "Xtmp/hashcheck-evil-absolute": "absolute",
        "nul-Xhidden.exe": "nul",
        "line\nbreak.txt": "newline",
        "carriage\rreturn.txt": "carriage return",
        "escape\x1b[31mred.txt": "escape",
        "delete\x7f.txt": "delete",
    }
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            # zipfile strips a leading slash and cuts a name at NUL: both are put in the bytes below, for the X.
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text)
    data = open(out, "rb").read()
    data = data.replace(b"Xtmp/hashcheck-evil-absolute", b"/tmp/hashcheck-evil-absolute", 2)
    data = data.replace(b"nul-Xhidden.exe", b"nul-\x00hidden.exe", 2)
    open(out, "wb").write(data)


def empties(out, count):
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for i in range(count):
            archive.writestr("e/%d" % i, b"")


if __name__ == "__main__":
    command, out, *rest = sys.argv[1:]
    {"overlap": overlap, "sizelie": sizelie, "gzsizelie": gzsizelie, "names": names, "empties": empties}[command](out, *map(int, rest))

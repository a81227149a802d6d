"""A reader for Qt's binary resource files (`.rcc`, written by `rcc -binary`), enough to
list and extract their files. Written from the format as the files show it:

- header, all big-endian: the magic `qres`, then u32 format version, u32 offset of the
  tree, u32 offset of the data, u32 offset of the names, and from version 3 a u32 of
  overall flags (24 bytes in all; 20 before version 3);
- tree: fixed-size nodes, node 0 the root directory. A node is u32 name offset, u16
  flags (1 zlib-compressed, 2 directory, 4 zstd-compressed), then for a directory u32
  child count and u32 index of its first child node, for a file u16 country, u16
  language and u32 data offset; from version 2 a u64 modification time follows
  (22 bytes a node; 14 in version 1);
- names: u16 length in UTF-16 code units, u32 hash, the name in UTF-16BE;
- data: u32 length then the bytes; compressed entries start with the u32 uncompressed
  length, then a zlib stream.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

MAGIC = b"qres"
COMPRESSED, DIRECTORY, COMPRESSED_ZSTD = 1, 2, 4


class RccError(ValueError):
    pass


@dataclass(frozen=True)
class Entry:
    path: str  # "/" separated, without the leading ":/"
    flags: int
    data_offset: int  # absolute, in the file


class Rcc:
    def __init__(self, data: bytes):
        if len(data) < 20 or data[:4] != MAGIC:
            raise RccError("not a Qt binary resource file (no 'qres' magic)")
        self.data = data
        self.version, self.tree, self.data_start, self.names = struct.unpack_from(">IIII", data, 4)
        if not 1 <= self.version <= 3:
            raise RccError(f"unknown rcc format version {self.version}")
        self.overall_flags = struct.unpack_from(">I", data, 20)[0] if self.version >= 3 else 0
        self.node_size = 22 if self.version >= 2 else 14
        for offset in (self.tree, self.data_start, self.names):
            if offset > len(data):
                raise RccError("offset past the end of the file")

    @classmethod
    def open(cls, path: Path) -> "Rcc":
        return cls(Path(path).read_bytes())

    def _node(self, index: int) -> tuple[int, int, int, int]:
        """(name offset, flags, a, b): a, b are child count and first child for a
        directory, locale and data offset for a file."""
        at = self.tree + index * self.node_size
        if at + 14 > len(self.data):
            raise RccError(f"tree node {index} past the end of the file")
        name, flags = struct.unpack_from(">IH", self.data, at)
        if flags & DIRECTORY:
            count, first = struct.unpack_from(">II", self.data, at + 6)
            return name, flags, count, first
        locale, offset = struct.unpack_from(">II", self.data, at + 6)
        return name, flags, locale, offset

    def _name(self, offset: int) -> str:
        at = self.names + offset
        if at + 6 > len(self.data):
            raise RccError("name past the end of the file")
        (length,) = struct.unpack_from(">H", self.data, at)
        raw = self.data[at + 6: at + 6 + 2 * length]
        if len(raw) != 2 * length:
            raise RccError("name past the end of the file")
        return raw.decode("utf-16-be")

    def entries(self) -> list[Entry]:
        out: list[Entry] = []
        seen: set[int] = set()
        stack = [(0, "")]
        while stack:
            index, prefix = stack.pop()
            if index in seen:
                raise RccError("tree has a cycle")
            seen.add(index)
            _, flags, count, first = self._node(index)
            if not flags & DIRECTORY:
                raise RccError("root node is not a directory")
            for child in range(first, first + count):
                name_offset, child_flags, _, offset = self._node(child)
                path = f"{prefix}{self._name(name_offset)}"
                if child_flags & DIRECTORY:
                    stack.append((child, path + "/"))
                else:
                    out.append(Entry(path, child_flags, self.data_start + offset))
        return sorted(out, key=lambda e: e.path)

    def read(self, entry: Entry) -> bytes:
        if entry.data_offset + 4 > len(self.data):
            raise RccError(f"{entry.path}: data past the end of the file")
        (length,) = struct.unpack_from(">I", self.data, entry.data_offset)
        blob = self.data[entry.data_offset + 4: entry.data_offset + 4 + length]
        if len(blob) != length:
            raise RccError(f"{entry.path}: data past the end of the file")
        if entry.flags & COMPRESSED_ZSTD:
            raise RccError(f"{entry.path}: zstd-compressed entries are not supported")
        if entry.flags & COMPRESSED:
            (size,) = struct.unpack(">I", blob[:4])
            out = zlib.decompress(blob[4:])
            if len(out) != size:
                raise RccError(f"{entry.path}: {len(out)} bytes uncompressed, header says {size}")
            return out
        return blob

    def files(self) -> dict[str, bytes]:
        return {e.path: self.read(e) for e in self.entries()}

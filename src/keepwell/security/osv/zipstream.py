"""Read the members of a zip archive one at a time, in archive order, with flat memory.

zipfile.ZipFile builds a ZipInfo object per member up front (npm's OSV export has hundreds of thousands) and
opens each member through several layers; OSV exports need neither. This walks the central directory in
small batches and inflates each member with zlib, bounded in size (zip bombs stop at the limit) and
checked against its CRC. ZIP64 archives (more than 65,535 members, or larger than 4 GiB) are read too.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"
_CENTRAL = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"
_BATCH = 2048


class ZipStreamError(ValueError):
    """The archive's structure cannot be read."""


def _end_of_directory(f) -> tuple[int, int]:
    """Return (offset of the central directory, number of entries)."""
    f.seek(0, 2)
    size = f.tell()
    tail_length = min(size, 22 + 65535)
    f.seek(size - tail_length)
    tail = f.read(tail_length)
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < 22:
        raise ZipStreamError("no end of central directory record")
    _, _, _, _, entries, _, offset, _ = struct.unpack("<4s4H2LH", tail[at : at + 22])
    if entries == 0xFFFF or offset == 0xFFFFFFFF:
        locator = tail[at - 20 : at] if at >= 20 else b""
        if locator[:4] != _EOCD64_LOCATOR:
            raise ZipStreamError("a ZIP64 archive without its locator")
        (eocd64_offset,) = struct.unpack("<Q", locator[8:16])
        f.seek(eocd64_offset)
        record = f.read(56)
        if record[:4] != _EOCD64 or len(record) < 56:
            raise ZipStreamError("a damaged ZIP64 end of central directory record")
        entries, _, offset = struct.unpack("<QQQ", record[32:56])
    if offset > size:
        raise ZipStreamError("the central directory lies beyond the end of the file")
    return offset, entries


def _zip64(extra: bytes, sizes: list[int]) -> None:
    """Replace the 0xFFFFFFFF fields of `sizes` (uncompressed, compressed, offset) from the ZIP64 extra field."""
    i = 0
    while i + 4 <= len(extra):
        tag, length = struct.unpack("<HH", extra[i : i + 4])
        data = extra[i + 4 : i + 4 + length]
        if tag == 1:
            j = 0
            for k in range(3):
                if sizes[k] == 0xFFFFFFFF and j + 8 <= len(data):
                    (sizes[k],) = struct.unpack("<Q", data[j : j + 8])
                    j += 8
            return
        i += 4 + length


def _directory(f, offset: int, entries: int) -> Iterator[list[tuple]]:
    """Yield batches of (name, flags, method, crc, compressed, uncompressed, local offset)."""
    batch = []
    position = offset
    for _ in range(entries):
        f.seek(position)
        header = f.read(46)
        if len(header) < 46 or header[:4] != _CENTRAL:
            raise ZipStreamError("a damaged central directory")
        (flags, method, crc, compressed, uncompressed, name_length, extra_length, comment_length) = (
            struct.unpack("<HH4xLLLHHH", header[8:34])
        )
        (local,) = struct.unpack("<L", header[42:46])
        rest = f.read(name_length + extra_length)
        name = rest[:name_length].decode("utf-8" if flags & 0x800 else "cp437", "replace")
        sizes = [uncompressed, compressed, local]
        if 0xFFFFFFFF in sizes:
            _zip64(rest[name_length:], sizes)
        batch.append((name, flags, method, crc, sizes[1], sizes[0], sizes[2]))
        position += 46 + name_length + extra_length + comment_length
        if len(batch) >= _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def entry_count(f) -> int:
    """Return the number of entries the zip `f` says its central directory has."""
    try:
        return _end_of_directory(f)[1]
    except (OSError, struct.error) as exc:
        raise ZipStreamError(str(exc)) from None


def entries(f) -> Iterator[list[tuple]]:
    """Yield the central directory of the zip `f` in batches of entries, for read()."""
    try:
        offset, count = _end_of_directory(f)
    except (OSError, struct.error) as exc:
        raise ZipStreamError(str(exc)) from None
    yield from _directory(f, offset, count)


def read(f, batch: list[tuple], max_size: int) -> Iterator[tuple[str, bytes | None, str]]:
    """Yield (name, data, problem) for each file member of `batch` (from entries()); data is None when problem says why."""
    for name, flags, method, crc, compressed, uncompressed, local in batch:
        if name.endswith("/"):
            continue
        if flags & 0x1:
            yield name, None, "is encrypted"
            continue
        if uncompressed > max_size or compressed > max_size:
            yield name, None, f"is larger than {max_size // 2**20} MiB"
            continue
        if method not in (0, 8):
            yield name, None, f"uses compression method {method}, which keepwell does not read"
            continue
        f.seek(local)
        header = f.read(30)
        if len(header) < 30 or header[:4] != _LOCAL:
            yield name, None, "has a damaged local header"
            continue
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        f.seek(local + 30 + name_length + extra_length)
        raw = f.read(compressed)
        try:
            if method == 8:
                inflater = zlib.decompressobj(-15)
                data = inflater.decompress(raw, max_size + 1)
            else:
                data = raw
        except zlib.error as exc:
            yield name, None, f"cannot be inflated ({exc})"
            continue
        if len(data) > max_size:
            yield name, None, f"is larger than {max_size // 2**20} MiB"
            continue
        if zlib.crc32(data) != crc or len(data) != uncompressed:
            yield name, None, "is damaged (its checksum does not match)"
            continue
        yield name, data, ""


def members(f, max_size: int) -> Iterator[tuple[str, bytes | None, str]]:
    """Yield (name, data, problem) for each file member of the zip `f`; data is None when problem says why."""
    for batch in entries(f):
        yield from read(f, batch, max_size)

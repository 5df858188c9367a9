"""Read a request body chunk by chunk, decompressing as it arrives, with caps on both sizes; no Django.

Memory stays bounded by the caps: a compression bomb stops at `max_decoded` bytes of output, however small
its input, because each chunk is decompressed with an output limit rather than all at once.
"""

import zlib

import brotli

__all__ = ["BodyDecoder", "BodyTooLarge", "BodyUnreadable", "ENCODINGS"]

ENCODINGS = ("identity", "gzip", "x-gzip", "deflate", "br")


class BodyTooLarge(Exception):
    """The body (as sent, or once decompressed) is over its cap; the message says which and the limit."""


class BodyUnreadable(Exception):
    """The body cannot be decompressed, or its encoding is not supported."""


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB" if n >= 1024 * 1024 else f"{n} bytes"


class BodyDecoder:
    """Feed raw chunks in with feed(); finish() returns the decoded body. Raise as soon as a cap is passed."""

    def __init__(self, encoding: str | None, max_raw: int, max_decoded: int):
        encoding = (encoding or "identity").strip().lower()
        if "," in encoding:
            # Several encodings stacked ("gzip, br") is legal HTTP that no SDK sends; refuse it plainly.
            raise BodyUnreadable(
                f"Content-Encoding {encoding!r} stacks several encodings; send one of gzip, deflate, br or none."
            )
        if encoding not in ENCODINGS:
            raise BodyUnreadable(
                f"Content-Encoding {encoding!r} is not supported; use gzip, deflate, br or none."
            )
        self.encoding = encoding
        self.max_raw = max_raw
        self.max_decoded = max_decoded
        self.raw_size = 0
        self._out = bytearray()
        self._zlib = None
        self._brotli = None
        self._deflate_probe = b""
        if encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "br":
            self._brotli = brotli.Decompressor()

    def feed(self, chunk: bytes) -> None:
        """Take the next raw chunk; raise BodyTooLarge or BodyUnreadable as soon as that is known."""
        if not chunk:
            return
        self.raw_size += len(chunk)
        if self.raw_size > self.max_raw:
            raise BodyTooLarge(
                f"The request body is over the limit of {_mib(self.max_raw)}; "
                "send smaller envelopes (fewer or smaller attachments)."
            )
        if self.encoding == "identity":
            self._append(chunk)
        elif self.encoding == "br":
            self._feed_brotli(chunk)
        else:
            self._feed_zlib(chunk)

    def _append(self, data: bytes) -> None:
        if len(self._out) + len(data) > self.max_decoded:
            raise BodyTooLarge(
                f"The request body is over the limit of {_mib(self.max_decoded)} once decompressed; "
                "send smaller envelopes."
            )
        self._out += data

    def _room(self) -> int:
        # One byte more than allowed, so that passing the cap is seen rather than silently cut.
        return self.max_decoded - len(self._out) + 1

    def _feed_zlib(self, chunk: bytes) -> None:
        if self._zlib is None:
            # "deflate" is zlib-wrapped by the standard, but some clients send raw deflate: look at the first
            # two bytes, the way browsers and Relay do.
            self._deflate_probe += chunk
            if len(self._deflate_probe) < 2:
                return
            chunk, self._deflate_probe = self._deflate_probe, b""
            cmf, flg = chunk[0], chunk[1]
            wrapped = cmf & 0x0F == 8 and (cmf << 8 | flg) % 31 == 0
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        data = chunk
        try:
            while data:
                self._append(self._zlib.decompress(data, self._room()))
                data = self._zlib.unconsumed_tail
                if self._zlib.eof:
                    break
        except zlib.error as exc:
            raise BodyUnreadable(
                f"The request body is not valid {self.encoding} data ({exc}); check Content-Encoding."
            ) from None

    def _feed_brotli(self, chunk: bytes) -> None:
        try:
            self._append(self._brotli.process(chunk, output_buffer_limit=self._room()))
            while not self._brotli.can_accept_more_data():
                self._append(self._brotli.process(b"", output_buffer_limit=self._room()))
        except brotli.error as exc:
            raise BodyUnreadable(
                f"The request body is not valid br data ({exc}); check Content-Encoding."
            ) from None

    def finish(self) -> bytearray:
        """Return the whole decoded body; raise BodyUnreadable when compressed data ended early."""
        if self.encoding in ("gzip", "x-gzip", "deflate"):
            if self._zlib is None:
                if self._deflate_probe:
                    raise BodyUnreadable("The request body is not valid deflate data (it is cut short).")
            else:
                try:
                    self._append(self._zlib.flush())
                except zlib.error as exc:  # pragma: no cover - flush after a clean stream does not fail
                    raise BodyUnreadable(
                        f"The request body is not valid {self.encoding} data ({exc})."
                    ) from None
                if not self._zlib.eof:
                    raise BodyUnreadable(
                        f"The request body is not complete {self.encoding} data (the stream is cut short)."
                    )
        elif self.encoding == "br" and not self._brotli.is_finished():
            raise BodyUnreadable("The request body is not complete br data (the stream is cut short).")
        # The buffer itself, not a copy: a large body is held once (parse_envelope and the spool take it).
        body, self._out = self._out, bytearray()
        return body

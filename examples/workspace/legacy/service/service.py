"""Signs each record read from stdin with the checksum of the C library libcodec."""

import ctypes
import sys

codec = ctypes.CDLL("build/libcodec.so")
codec.codec_checksum.restype = ctypes.c_uint32
codec.codec_checksum.argtypes = [ctypes.c_char_p, ctypes.c_size_t]


def sign(record: bytes) -> str:
    return "%08x %s" % (codec.codec_checksum(record, len(record)), record.decode())


def main() -> None:
    for line in sys.stdin.buffer:
        record = line.rstrip(b"\n")
        if record:
            print(sign(record))


if __name__ == "__main__":
    main()

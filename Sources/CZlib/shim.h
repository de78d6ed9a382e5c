#pragma once
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

/* Gzip (RFC 1952) of `in` into `out` (room for `*out_len` bytes; deflateBound + 18 is enough).
   Returns Z_OK and sets `*out_len` to the bytes written, or a zlib error. deflateInit2 is a macro,
   which Swift cannot call: hence this wrapper. */
static inline int swoffcpu_gzip(const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len, int level) {
    z_stream s;
    memset(&s, 0, sizeof s);
    /* 15 + 16: a 32 KiB window with a gzip header and trailer instead of zlib's. */
    int rc = deflateInit2(&s, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    if (rc != Z_OK) return rc;
    s.next_in = (Bytef *)in;
    s.next_out = out;
    size_t in_left = in_len, out_left = *out_len;
    do {
        /* avail_in and avail_out are 32-bit: feed at most 1 GiB at a time. */
        uInt in_chunk = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left;
        uInt out_chunk = out_left > (1u << 30) ? (1u << 30) : (uInt)out_left;
        s.avail_in = in_chunk;
        s.avail_out = out_chunk;
        rc = deflate(&s, in_left == in_chunk ? Z_FINISH : Z_NO_FLUSH);
        in_left -= in_chunk - s.avail_in;
        out_left -= out_chunk - s.avail_out;
    } while (rc == Z_OK && out_left > 0);
    *out_len -= out_left;
    deflateEnd(&s);
    return rc == Z_STREAM_END ? Z_OK : (rc == Z_OK ? Z_BUF_ERROR : rc);
}

/* The size `swoffcpu_gzip` may need for `in_len` bytes. */
static inline size_t swoffcpu_gzip_bound(size_t in_len) {
    return (size_t)compressBound((uLong)in_len) + 32 + in_len / 1000;
}

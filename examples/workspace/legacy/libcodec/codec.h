/* codec: the checksum the service signs its records with (Adler-32, RFC 1950). */
#ifndef CODEC_H
#define CODEC_H
#include <stddef.h>
#include <stdint.h>

uint32_t codec_checksum(const unsigned char *data, size_t len);

#endif

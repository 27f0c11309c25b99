#pragma once
#include <stddef.h>
#include <stdint.h>

/// The 64 SHA-256 round constants K[0..63] (FIPS 180-4), for every architecture.
const uint32_t *csha256_round_constants(void);

/// 1 when this CPU has the x86 SHA extensions (plus SSSE3 and SSE4.1), else 0. Cheap after the first call.
int csha256_hw_available(void);

/// Runs the SHA-256 compression function over `blocks` 64-byte blocks at `data`, updating
/// `state` (the eight working words H0..H7 in native order). Only call when
/// csha256_hw_available() returned 1; on other CPUs or architectures it does nothing.
void csha256_hw_blocks(uint32_t state[8], const uint8_t *data, size_t blocks);

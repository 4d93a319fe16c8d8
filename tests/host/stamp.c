// SPDX-License-Identifier: GPL-2.0
/*
 * stamp - unit tests of the 4 KiB block stamp (tests/tools/stamp.h) that
 * stampwrite writes and verifies.
 */
#include <stdint.h>
#include <string.h>

#include "stamp.h"
#include "tap.h"

static _Alignas(8) unsigned char a[STAMP_BLOCK], b[STAMP_BLOCK];

static void test_roundtrip(void)
{
	struct stamp_hdr h;

	stamp_fill(a, 12345, 7, 99);
	ok(memcmp(a, "SVMSTAMP", 8) == 0, "magic reads \"SVMSTAMP\"");
	ok(stamp_decode(a, &h) == STAMP_OK && h.magic == STAMP_MAGIC &&
	   h.addr == 12345 && h.gen == 7 && h.seed == 99,
	   "decode gives back address, generation and seed");
	ok(stamp_check(a, 12345, 7, 99, &h) == STAMP_OK,
	   "check accepts the exact stamp");
	stamp_fill(b, 12345, 7, 99);
	ok(memcmp(a, b, STAMP_BLOCK) == 0, "stamps are deterministic");
	stamp_fill(a, 0, 0, 0);
	ok(stamp_check(a, 0, 0, 0, &h) == STAMP_OK, "all-zero header values");
	stamp_fill(a, UINT64_MAX - 1, UINT64_MAX - 1, UINT64_MAX);
	ok(stamp_check(a, UINT64_MAX - 1, UINT64_MAX - 1, UINT64_MAX, &h) ==
	   STAMP_OK, "maximal header values");
}

static void test_wrong_identity(void)
{
	struct stamp_hdr h;

	stamp_fill(a, 100, 5, 42);
	ok(stamp_check(a, 100, 6, 42, &h) == STAMP_BAD_GEN && h.gen == 5,
	   "newer generation expected: wrong generation, found gen 5");
	ok(stamp_check(a, 100, 4, 42, &h) == STAMP_BAD_GEN,
	   "older generation expected: wrong generation");
	ok(stamp_check(a, 101, 5, 42, &h) == STAMP_BAD_ADDR && h.addr == 100,
	   "block written at the wrong address is caught");
	ok(stamp_check(a, 100, 5, 43, &h) == STAMP_BAD_SEED && h.seed == 42,
	   "same generation from another run (seed) is caught");
	ok(stamp_check(a, 100, 6, 43, &h) == STAMP_BAD_GEN,
	   "generation is reported before seed");
}

static void test_damage(void)
{
	struct stamp_hdr h;

	memset(a, 0, sizeof(a));
	ok(stamp_check(a, 0, 0, 1, &h) == STAMP_ZERO, "zero block: all zeroes");
	memset(a, 0xff, sizeof(a));
	ok(stamp_check(a, 0, 0, 1, &h) == STAMP_BAD_MAGIC, "garbage: bad magic");

	stamp_fill(a, 8, 3, 1);
	a[2000] ^= 0x10;
	ok(stamp_check(a, 8, 3, 1, &h) == STAMP_BAD_CSUM, "flipped fill bit: bad checksum");

	stamp_fill(a, 8, 3, 1);
	a[16] ^= 1;		/* generation 3 -> 2 */
	ok(stamp_check(a, 8, 2, 1, &h) == STAMP_BAD_CSUM,
	   "altered generation field: bad checksum, not a valid gen 2");

	/* Torn write: first half of generation 4 over generation 3. */
	stamp_fill(a, 8, 3, 1);
	stamp_fill(b, 8, 4, 1);
	memcpy(a, b, STAMP_BLOCK / 2);
	ok(stamp_check(a, 8, 4, 1, &h) == STAMP_BAD_CSUM &&
	   stamp_check(a, 8, 3, 1, &h) == STAMP_BAD_CSUM,
	   "torn write (half new, half old) matches neither generation");

	/* One 512-byte sector lost out of a 4 KiB write. */
	stamp_fill(a, 8, 3, 1);
	stamp_fill(b, 8, 4, 1);
	memcpy(b + 3584, a + 3584, 512);
	ok(stamp_check(b, 8, 4, 1, &h) == STAMP_BAD_CSUM,
	   "last sector of the write missing: bad checksum");
}

/* A valid header (checksum recomputed) on another block's fill. */
static void test_fill_binding(void)
{
	struct stamp_hdr h;

	stamp_fill(a, 8, 3, 1);
	stamp_fill(b, 9, 3, 1);
	memcpy(a, b, STAMP_HDR_WORDS * 8);
	stamp_put(a, STAMP_CSUM_WORD, stamp_csum(a));
	ok(stamp_check(a, 9, 3, 1, &h) == STAMP_BAD_FILL,
	   "header moved onto other data: fill does not match");
}

/* Every single-bit flip anywhere in the block is caught. */
static void test_every_bit(void)
{
	struct stamp_hdr h;
	unsigned int byte, bit, missed = 0;

	stamp_fill(a, 77, 11, 5);
	for (byte = 0; byte < STAMP_BLOCK; byte++) {
		for (bit = 0; bit < 8; bit += 3) {
			a[byte] ^= (unsigned char)(1u << bit);
			if (stamp_check(a, 77, 11, 5, &h) == STAMP_OK)
				missed++;
			a[byte] ^= (unsigned char)(1u << bit);
		}
	}
	ok(missed == 0, "bit flips at every byte caught (%u missed)", missed);
	ok(stamp_check(a, 77, 11, 5, &h) == STAMP_OK, "block intact after the flips");
}

/* Fills of neighbouring identities share no word (deterministic data). */
static void test_distinct_fills(void)
{
	unsigned int i, same_gen = 0, same_addr = 0;

	stamp_fill(a, 500, 1, 3);
	stamp_fill(b, 500, 2, 3);
	for (i = STAMP_HDR_WORDS; i < STAMP_WORDS; i++)
		same_gen += stamp_get(a, i) == stamp_get(b, i);
	stamp_fill(b, 501, 1, 3);
	for (i = STAMP_HDR_WORDS; i < STAMP_WORDS; i++)
		same_addr += stamp_get(a, i) == stamp_get(b, i);
	ok(same_gen == 0 && same_addr == 0,
	   "fills differ across generation and address (%u, %u equal words)",
	   same_gen, same_addr);
}

static void test_names(void)
{
	int r, distinct = 1;

	for (r = STAMP_OK; r <= STAMP_BAD_SEED; r++)
		if (strcmp(stamp_result_name((enum stamp_result)r), "?") == 0)
			distinct = 0;
	ok(distinct, "every result has a name");
}

int main(void)
{
	tap_plan(22);
	test_roundtrip();
	test_wrong_identity();
	test_damage();
	test_fill_binding();
	test_every_bit();
	test_distinct_fills();
	test_names();
	return tap_done();
}

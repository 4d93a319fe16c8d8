/* SPDX-License-Identifier: GPL-2.0 */
/*
 * stamp.h - the 4 KiB block stamp used by stampwrite and its unit tests.
 *
 * Every block written by stampwrite describes itself, so that a verifier can
 * tell exactly which write (if any) a block holds:
 *
 *   offset  size
 *        0     8  magic "SVMSTAMP"
 *        8     8  block address (index of the 4 KiB block in the device)
 *       16     8  generation (0 = --init, then 1, 2, ... per block)
 *       24     8  seed of the stampwrite run that wrote it
 *       32     8  checksum of the whole block, computed with this field 0
 *       40  4056  pseudo-random fill derived from (address, generation, seed)
 *
 * Integers are stored in host byte order (stamps never leave the machine).
 * The checksum catches torn or partly overwritten blocks; the fill being a
 * function of the header catches a header copied onto another block's data.
 * Header-only so that it builds into both the tool and the host test.
 */
#ifndef SVM_STAMP_H
#define SVM_STAMP_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define STAMP_BLOCK	4096
#define STAMP_WORDS	(STAMP_BLOCK / 8)
#define STAMP_MAGIC	0x504d4154534d5653ULL	/* "SVMSTAMP" little-endian */
#define STAMP_HDR_WORDS	5
#define STAMP_CSUM_WORD	4

struct stamp_hdr {
	uint64_t magic;
	uint64_t addr;
	uint64_t gen;
	uint64_t seed;
	uint64_t csum;
};

enum stamp_result {
	STAMP_OK = 0,
	STAMP_ZERO,		/* block is all zeroes */
	STAMP_BAD_MAGIC,	/* not a stamp at all */
	STAMP_BAD_CSUM,		/* stamp damaged (torn or corrupted write) */
	STAMP_BAD_FILL,		/* intact header on the wrong data */
	STAMP_BAD_ADDR,		/* a valid stamp of another block */
	STAMP_BAD_GEN,		/* a valid stamp of another generation */
	STAMP_BAD_SEED,		/* same generation, but from another run */
};

static inline const char *stamp_result_name(enum stamp_result r)
{
	switch (r) {
	case STAMP_OK: return "ok";
	case STAMP_ZERO: return "all zeroes";
	case STAMP_BAD_MAGIC: return "no stamp (bad magic)";
	case STAMP_BAD_CSUM: return "bad checksum";
	case STAMP_BAD_FILL: return "fill does not match header";
	case STAMP_BAD_ADDR: return "stamp of another block";
	case STAMP_BAD_GEN: return "wrong generation";
	case STAMP_BAD_SEED: return "stamp with another seed";
	}
	return "?";
}

/* splitmix64: a fast, well-mixed 64-bit generator step. */
static inline uint64_t stamp_mix(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint64_t stamp_get(const void *buf, unsigned int word)
{
	uint64_t v;

	memcpy(&v, (const char *)buf + word * 8, 8);
	return v;
}

static inline void stamp_put(void *buf, unsigned int word, uint64_t v)
{
	memcpy((char *)buf + word * 8, &v, 8);
}

/* Seed of the fill generator of block (addr, gen, seed). */
static inline uint64_t stamp_fill_seed(uint64_t addr, uint64_t gen,
				       uint64_t seed)
{
	uint64_t s = addr ^ 0x5356534d46494c4cULL;	/* "LLIFMSVS" */

	s = stamp_mix(&s) ^ gen;
	s = stamp_mix(&s) ^ seed;
	return stamp_mix(&s);
}

/* Checksum of a block, the checksum word counted as 0. */
static inline uint64_t stamp_csum(const void *buf)
{
	uint64_t h = 0x6a09e667f3bcc908ULL;
	unsigned int i;

	for (i = 0; i < STAMP_WORDS; i++) {
		uint64_t w = i == STAMP_CSUM_WORD ? 0 : stamp_get(buf, i);

		h = (h ^ w) * 0x100000001b3ULL;
		h ^= h >> 29;
	}
	return stamp_mix(&h);
}

/* Write the stamp of (addr, gen, seed) into the 4 KiB buffer buf. */
static inline void stamp_fill(void *buf, uint64_t addr, uint64_t gen,
			      uint64_t seed)
{
	uint64_t s = stamp_fill_seed(addr, gen, seed);
	unsigned int i;

	stamp_put(buf, 0, STAMP_MAGIC);
	stamp_put(buf, 1, addr);
	stamp_put(buf, 2, gen);
	stamp_put(buf, 3, seed);
	for (i = STAMP_HDR_WORDS; i < STAMP_WORDS; i++)
		stamp_put(buf, i, stamp_mix(&s));
	stamp_put(buf, STAMP_CSUM_WORD, stamp_csum(buf));
}

static inline bool stamp_is_zero(const void *buf)
{
	unsigned int i;

	for (i = 0; i < STAMP_WORDS; i++)
		if (stamp_get(buf, i))
			return false;
	return true;
}

/*
 * Decode the stamp in buf into *hdr and check that it is intact (magic,
 * checksum, fill).  *hdr is filled even when the stamp is damaged.
 */
static inline enum stamp_result stamp_decode(const void *buf,
					     struct stamp_hdr *hdr)
{
	uint64_t s;
	unsigned int i;

	hdr->magic = stamp_get(buf, 0);
	hdr->addr = stamp_get(buf, 1);
	hdr->gen = stamp_get(buf, 2);
	hdr->seed = stamp_get(buf, 3);
	hdr->csum = stamp_get(buf, STAMP_CSUM_WORD);
	if (hdr->magic != STAMP_MAGIC)
		return stamp_is_zero(buf) ? STAMP_ZERO : STAMP_BAD_MAGIC;
	if (hdr->csum != stamp_csum(buf))
		return STAMP_BAD_CSUM;
	s = stamp_fill_seed(hdr->addr, hdr->gen, hdr->seed);
	for (i = STAMP_HDR_WORDS; i < STAMP_WORDS; i++)
		if (stamp_get(buf, i) != stamp_mix(&s))
			return STAMP_BAD_FILL;
	return STAMP_OK;
}

/*
 * Check that buf holds exactly the stamp of (addr, gen, seed).  *found gets
 * what the block says it is.
 */
static inline enum stamp_result stamp_check(const void *buf, uint64_t addr,
					    uint64_t gen, uint64_t seed,
					    struct stamp_hdr *found)
{
	enum stamp_result r = stamp_decode(buf, found);

	if (r != STAMP_OK)
		return r;
	if (found->addr != addr)
		return STAMP_BAD_ADDR;
	if (found->gen != gen)
		return STAMP_BAD_GEN;
	if (found->seed != seed)
		return STAMP_BAD_SEED;
	return STAMP_OK;
}

#endif /* SVM_STAMP_H */

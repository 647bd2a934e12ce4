/* dname.h -- domain names in uncompressed wire form: conversion, case, hashing. */
#ifndef GSLBD_DNAME_H
#define GSLBD_DNAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNAME_MAXLEN 255
#define DNAME_MAXLABELS 128

/* Parse presentation text @str (absolute; the final dot may be omitted) into
 * @out as lower-case wire. Returns the wire length, or -1 if @str is not a
 * valid name. Load time only (uses ldns). */
int dname_from_str(uint8_t out[DNAME_MAXLEN], const char *str);

/* Format wire name @name into @buf (at least 1024 bytes) for messages. */
const char *dname_to_str(char *buf, size_t size, const uint8_t *name);

/* Length of the wire name @name (which must be well formed), root included. */
size_t dname_len(const uint8_t *name);

/* Lower-case @len bytes of wire name in place. Length octets are < 64 and so
 * are never touched by ASCII case folding. */
void dname_tolower(uint8_t *name, size_t len);

/* Fill @offsets with the offset of each non-root label of @name; returns the
 * label count. */
int dname_labels(const uint8_t *name, uint8_t offsets[DNAME_MAXLABELS]);

/* True if @name equals @parent or lies below it (both lower-case). */
bool dname_is_below_or_equal(const uint8_t *name, const uint8_t *parent);

/* Hash every suffix of @name: @hashes[i] is the hash of the suffix starting at
 * label @i (0 = the whole name), for i in 0..@nlabels. One pass, right to left,
 * so a lookup that tries every suffix hashes each byte once. */
void dname_suffix_hashes(uint64_t *hashes, const uint8_t *name, const uint8_t *offsets,
			 int nlabels);

/* Hash of the whole (lower-case) name; equals dname_suffix_hashes()[0]. */
uint64_t dname_hash(const uint8_t *name);

#endif

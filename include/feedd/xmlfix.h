/*
 * xmlfix: the feed parser's repair pass, between the charset converter and
 * libxml2 (feed.c is its only user).  It takes clean UTF-8 in pieces as
 * they arrive and writes XML that libxml2's recovery handles well: every
 * entity reference becomes a numeric character reference (or literal text
 * when the name is unknown), a bare '&' is escaped, the DOCTYPE is dropped
 * and characters XML forbids are replaced.  Afterwards libxml2 never sees a
 * DTD or a named entity: entity bombs and XXE have nothing to expand, and
 * the "&amp;" after a recovered error is not silently lost (libxml2 skips
 * entity references once a document is known to be malformed).
 *
 * Byte work only: no libxml2, no I/O, no allocation but the two buffers.
 */
#ifndef FEEDD_XMLFIX_H
#define FEEDD_XMLFIX_H

#include <stdbool.h>
#include <stddef.h>

#include "feedd/util.h"

/* Attributes kept per tag; the rest of a tag with more is dropped. */
#define XMLFIX_MAX_ATTRS 256

enum xmlfix_state {
	XMLFIX_TEXT,
	XMLFIX_TAG,
	XMLFIX_CDATA,
	XMLFIX_COMMENT,
	XMLFIX_PI,
	XMLFIX_DOCTYPE
};

struct xmlfix {
	/* The caller's side: it appends its input to pending (whatever the
	 * last run held back stays at the front) and takes the output from
	 * fixed, resetting it when done. */
	struct buf pending;
	struct buf fixed;
	/* What the caller may report at the end. */
	bool seen_lt;	      /* past the text before the first '<' */
	size_t junk_skipped;  /* non-space bytes before the first '<' */
	bool attrs_dropped;   /* a tag had more than XMLFIX_MAX_ATTRS attributes */
	bool entities_capped; /* internal entities past XMLFIX_MAX_EXPANSION left as text */

	/* The pass's own state. */
	enum xmlfix_state state;
	int doctype_brackets;
	char doctype_quote;
	bool dt_comment, dt_pi; /* inside a comment or PI of the DOCTYPE */
	char tag_quote;		/* inside a quoted attribute value */
	char tag_last;		/* the last byte of the tag so far */
	int tag_attrs;
	bool tag_skip;	  /* the rest of this tag is dropped */
	size_t cdata_len; /* bytes since the CDATA section (re)opened */
	bool out_cdata;	  /* xmlfix opened a CDATA section in text */

	/* The internal subset's general entities (<!ENTITY name "value">):
	 * the DOCTYPE's text, up to XMLFIX_MAX_DTD bytes, is read for them
	 * when it ends; their references are replaced by their values as text
	 * (never markup), whose other references are not expanded again; at
	 * most XMLFIX_MAX_EXPANSION bytes in all.  External entities are
	 * never read. */
	struct buf dtd;
	struct xmlfix_entity {
		char *name, *value;
		size_t value_len;
	} * ents;
	size_t n_ents;
	size_t expanded;
};

#define XMLFIX_MAX_DTD ((size_t)64 << 10)
#define XMLFIX_MAX_ENTITIES 256
#define XMLFIX_MAX_EXPANSION ((size_t)1 << 20)

/* Empties x for a new document. */
void xmlfix_init(struct xmlfix *x);
/* Frees x's buffers. */
void xmlfix_free(struct xmlfix *x);
/* Repairs what x->pending holds, appending to x->fixed; the last bytes may
 * be held back (in pending) until more input shows what they are.  With
 * final, nothing is held back. */
void xmlfix_run(struct xmlfix *x, bool final);

#endif

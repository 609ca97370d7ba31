/*
 * generic: the article text of a page that no extraction rule describes.
 *
 * The page's blocks of text are weighed by their length, punctuation and
 * link density and by the class and id names around them; the container
 * holding most of the article's prose wins, and its paragraphs, less the
 * boilerplate inside it, are the body.  Works on any script (CJK text is
 * counted in characters, not words).  Reads the tree only; no I/O.
 */
#ifndef FEEDD_GENERIC_H
#define FEEDD_GENERIC_H

#include <libxml/tree.h>

#include "feedd/util.h"

/* Finds the article text of an HTML document by text and link density of its blocks.
 * 0 with body set to the article's paragraphs (plain text, whitespace collapsed,
 * joined by "\n\n", no trailing newline), or -1 when no block looks like an
 * article (body left empty). doc is not modified. */
int generic_body(xmlDocPtr doc, struct buf *body);

#endif

/*
 * text: small text transformations shared by the parsers: HTML entity
 * decoding, HTML-to-plain-text for titles, white-space folding.  All input
 * and output is UTF-8; nothing here does I/O.
 */
#ifndef FEEDD_TEXT_H
#define FEEDD_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "feedd/util.h"

/* Reads an entity reference at s ("&amp;", "&#8217;", "&#x2019;", "&eacute;",
 * at most len bytes). Returns its length and sets *cp to the code point, or
 * returns 0 when s does not start with a complete, known reference. */
size_t text_entity(const char *s, size_t len, uint32_t *cp);
/* Appends code point cp as UTF-8 (invalid ones as U+FFFD). */
void text_put_utf8(struct buf *b, uint32_t cp);
/* Appends s with runs of white space folded to one space, trimmed. */
void text_fold_space(const char *s, size_t len, struct buf *out);
/* Plain text from an HTML fragment: tags removed, entities decoded (twice
 * more if the text was escaped twice over), white space folded. */
char *text_html_to_plain(const char *s);
/* The same for markup known to be escaped once (XHTML, or HTML that came
 * base64-encoded): entities decoded once, so "&amp;lt;b&amp;gt;" ends as the
 * text "<b>". */
char *text_markup_to_plain(const char *s);
/* Plain text from an HTML fragment, one paragraph per line: block
 * elements (p, div, br, li, h1-h6, blockquote, tr) end lines, other tags
 * go, entities are decoded, white space folds within lines, and empty lines
 * are dropped. NULL when no text is left. */
char *text_html_to_paragraphs(const char *s);
/* Each line of s (ended by '\r' or '\n') through text_html_to_plain, one
 * per line, the lines that come out empty dropped; NULL when no text is
 * left. */
char *text_lines_to_plain(const char *s);
/* Trims and folds white space; NULL when nothing is left. Takes s. */
char *text_clean_field(char *s);
/* Decodes the base64 text s (RFC 4648, white space anywhere, '=' padding
 * optional) into out (replacing what it held); -1 (out then undefined) for
 * a character outside the alphabet or a dangling sixth bit group. */
int text_base64_decode(const char *s, size_t n, struct buf *out);

#endif

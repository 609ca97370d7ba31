/*
 * fuzz_extract: libFuzzer target for the article extractor
 * (include/feedd/extract.h): the input is an article page's HTML, read with
 * the default rules (the nastooh preset, as `feedd extract` without -c), from
 * the URL of the fixture article, or from no URL when the input's last byte
 * is odd; the last byte's next bits pick an HTTP charset, mostly none.  A
 * page is either refused with a reason or extracted into fields that are
 * all valid UTF-8.
 *
 * scripts/fuzz extract SECONDS runs it on tests/fixtures/articles.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feedd/extract.h"
#include "feedd/feed.h"
#include "feedd/util.h"
#include "fuzz_check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define URL "https://en.irna.ir/news/85859288/Ministers-agree-to-expand-rail-freight-link"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	feed_xml_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const charsets[] = {
		NULL, NULL, NULL, NULL, "utf-8", "windows-1256", "utf-16", "no-such-charset",
	};
	unsigned last = size ? data[size - 1] : 0;
	const char *url = last & 1 ? NULL : URL;
	const char *charset = charsets[(last >> 1) % ARRAY_LEN(charsets)];
	struct store_page *a;
	struct buf err;
	buf_init(&err);
	if (extract_page((const char *)data, size, url, charset, NULL, &a, &err) != 0) {
		if (err.len == 0) {
			fprintf(stderr, "fuzz_extract: a page refused without a reason\n");
			abort();
		}
		buf_free(&err);
		return 0;
	}
	fuzz_check_utf8("url", a->url);
	fuzz_check_utf8("news_id", a->news_id);
	fuzz_check_utf8("title", a->title);
	fuzz_check_utf8("lead", a->lead);
	fuzz_check_utf8("body", a->body);
	fuzz_check_utf8("author", a->author);
	fuzz_check_utf8("image", a->image);
	fuzz_check_utf8("caption", a->caption);
	fuzz_check_utf8("language", a->language);
	for (size_t i = 0; i < a->n_tags; i++)
		fuzz_check_utf8("a tag", a->tags[i]);
	store_page_free(a);
	buf_free(&err);
	return 0;
}

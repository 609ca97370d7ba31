#!/usr/bin/env python3
"""Many small RSS 2.0 documents for bench/poll.

    gen_poll_feeds.py DIR COUNT ITEMS MIN_BYTES MAX_BYTES FIRST_ID

Writes DIR/f0000.xml ... DIR/f{COUNT-1}.xml, each with ITEMS news-agency
items (bench/gen_feed.py's text: title, link, guid, pubDate, author,
categories, enclosure) whose HTML description is MIN_BYTES..MAX_BYTES long
before XML escaping.  Item k of file i has news ID FIRST_ID + i * ITEMS + k,
in its link and guid (https://en.example-agency.ir/news/ID/slug), so no two
items of one run share an ID.  The output is a pure function of the
arguments.  Prints the total bytes written.

Python 3 standard library only.
"""
import os
import random
import sys
from xml.sax.saxutils import escape

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_feed  # noqa: E402  (bench/gen_feed.py: the text generators)

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">\n<channel>\n'
        "<title>Example Agency &#8211; feed %d</title>\n"
        "<link>https://en.example-agency.ir/</link>\n"
        "<description>The latest news from Example Agency</description>\n"
        "<language>en</language>\n")
TAIL = "</channel>\n</rss>\n"


def item(rnd, i, n_id, size):
    cats = "".join("<category>%s</category>" % escape(c)
                   for c in rnd.sample(gen_feed.CATEGORIES, rnd.randint(1, 3)))
    slug = "-".join(rnd.choice(gen_feed.WORDS) for _ in range(5))
    desc = gen_feed.body(rnd, n_id, size)
    return ("<item>\n<title>%s</title>\n"
            "<link>https://en.example-agency.ir/news/%d/%s</link>\n"
            '<guid isPermaLink="true">https://en.example-agency.ir/news/%d/%s</guid>\n'
            "<pubDate>%s</pubDate>\n<dc:creator>%s</dc:creator>\n%s\n"
            "<description>%s</description>\n"
            '<enclosure url="https://cdn.example-agency.ir/d/%d.jpg" type="image/jpeg" '
            'length="%d"/>\n</item>\n'
            % (gen_feed.title(rnd), n_id, slug, n_id, slug, gen_feed.rfc822(rnd, i),
               escape(rnd.choice(gen_feed.AUTHORS)), cats, escape(desc), n_id,
               rnd.randint(20000, 400000)))


def main(argv):
    if len(argv) != 7:
        sys.stderr.write(__doc__)
        return 2
    out_dir = argv[1]
    count, items, lo, hi, first = (int(a) for a in argv[2:])
    rnd = random.Random(first * 7919 + count)
    os.makedirs(out_dir, exist_ok=True)
    total = 0
    for f in range(count):
        parts = [HEAD % f]
        for k in range(items):
            # Newest first, as feeds list them.
            parts.append(item(rnd, k, first + f * items + (items - 1 - k), rnd.randint(lo, hi)))
        parts.append(TAIL)
        data = "".join(parts).encode("utf-8")
        with open(os.path.join(out_dir, "f%04d.xml" % f), "wb") as fh:
            fh.write(data)
        total += len(data)
    print(total)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
"""Many small RSS 2.0 documents for bench/poll.

    gen_poll_feeds.py DIR COUNT ITEMS MIN_BYTES MAX_BYTES FIRST_ID

Writes DIR/f0000.xml ... DIR/f{COUNT-1}.xml, each with ITEMS news-agency
items (title, link, guid, pubDate, author, categories, enclosure) whose
HTML description is MIN_BYTES..MAX_BYTES long before XML escaping:
paragraphs with some links, emphasis and entities.  The text is drawn from
a vocabulary of 8,000 made-up words with a Zipf-like skew (word k about as
often as 1/k), as in bench/store_bench.c, so the full-text index sees text
shaped like prose: bench/gen_feed.py's few dozen words would make
to_tsvector and the GIN index unrealistically cheap.  Item k of file i has
news ID FIRST_ID + i * ITEMS + k, in its link and guid
(https://en.example-agency.ir/news/ID/slug), so no two items of one run
share an ID.  The output is a pure function of the arguments.  Prints the
total bytes written.

Python 3 standard library only.
"""
import itertools
import os
import random
import sys
from xml.sax.saxutils import escape

VOCAB = 8000
CATEGORIES = ["Politics", "Economy", "World", "Sport", "Culture", "Science", "Health",
              "Society", "Energy", "Technology", "Opinion", "Middle East", "Asia", "Europe"]
AUTHORS = ["Sara Ahmadi", "John O'Neill", "Mar\u00eda Fern\u00e1ndez", "Li Wei", "Desk Editor",
           "Ali Rezaei & staff"]
ENTITIES = ["&amp;", "&quot;", "&#8217;", "&nbsp;", "&#8211;", "&eacute;"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">\n<channel>\n'
        "<title>Example Agency &#8211; feed %d</title>\n"
        "<link>https://en.example-agency.ir/</link>\n"
        "<description>The latest news from Example Agency</description>\n"
        "<language>en</language>\n")
TAIL = "</channel>\n</rss>\n"


class Words:
    def __init__(self, rnd):
        self.rnd = rnd
        letters = "abcdefghijklmnopqrstuvwxyz"
        self.vocab = ["".join(rnd.choice(letters) for _ in range(rnd.randint(2, 11)))
                      for _ in range(VOCAB)]
        self.cdf = list(itertools.accumulate(1.0 / (k + 1) for k in range(VOCAB)))

    def take(self, n):
        return self.rnd.choices(self.vocab, cum_weights=self.cdf, k=n)

    def sentence(self):
        w = self.take(self.rnd.randint(8, 24))
        r = self.rnd.random()
        if r < 0.15:
            i = self.rnd.randrange(len(w))
            w[i] = '<a href="https://en.example-agency.ir/news/%d/%s">%s</a>' % (
                self.rnd.randint(1000000, 9999999), w[i], w[i])
        elif r < 0.25:
            i = self.rnd.randrange(len(w))
            w[i] = "<strong>%s</strong>" % w[i]
        if self.rnd.random() < 0.2:
            w.insert(self.rnd.randrange(len(w)), self.rnd.choice(ENTITIES))
        s = " ".join(w)
        return s[0].upper() + s[1:] + self.rnd.choice(".....?!")

    def html(self, size):
        out, total = [], 0
        while total < size:
            p = "<p>%s</p>" % " ".join(self.sentence() for _ in range(self.rnd.randint(2, 5)))
            out.append(p)
            total += len(p)
        return "\n".join(out)


def item(words, rnd, i, n_id, size):
    cats = "".join("<category>%s</category>" % escape(c)
                   for c in rnd.sample(CATEGORIES, rnd.randint(1, 3)))
    slug = "-".join(words.take(5))
    title = " ".join(words.take(rnd.randint(5, 12)))
    day = 1 + (i * 7) % 28
    date = "%s, %02d %s 2024 %02d:%02d:%02d +0330" % (
        DAYS[(day + 2) % 7], day, MONTHS[(i // 28) % 12], rnd.randint(0, 23), rnd.randint(0, 59),
        rnd.randint(0, 59))
    return ("<item>\n<title>%s</title>\n"
            "<link>https://en.example-agency.ir/news/%d/%s</link>\n"
            '<guid isPermaLink="true">https://en.example-agency.ir/news/%d/%s</guid>\n'
            "<pubDate>%s</pubDate>\n<dc:creator>%s</dc:creator>\n%s\n"
            "<description>%s</description>\n"
            '<enclosure url="https://cdn.example-agency.ir/d/%d.jpg" type="image/jpeg" '
            'length="%d"/>\n</item>\n'
            % (title[0].upper() + title[1:], n_id, slug, n_id, slug, date,
               escape(rnd.choice(AUTHORS)), cats, escape(words.html(size)), n_id,
               rnd.randint(20000, 400000)))


def main(argv):
    if len(argv) != 7:
        sys.stderr.write(__doc__)
        return 2
    out_dir = argv[1]
    count, items, lo, hi, first = (int(a) for a in argv[2:])
    rnd = random.Random(first * 7919 + count)
    words = Words(rnd)
    os.makedirs(out_dir, exist_ok=True)
    total = 0
    for f in range(count):
        parts = [HEAD % f]
        for k in range(items):
            # Newest first, as feeds list them.
            n_id = first + f * items + (items - 1 - k)
            parts.append(item(words, rnd, k, n_id, rnd.randint(lo, hi)))
        parts.append(TAIL)
        data = "".join(parts).encode("utf-8")
        with open(os.path.join(out_dir, "f%04d.xml" % f), "wb") as fh:
            fh.write(data)
        total += len(data)
    print(total)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

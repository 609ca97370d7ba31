#!/usr/bin/env python3
"""A large, realistic feed document for bench/parse.

    gen_feed.py rss|atom OUT [ENTRIES [MEGABYTES]]

Writes an RSS 2.0 or Atom 1.0 document of about MEGABYTES (default 50, in
10^6 bytes) with ENTRIES entries (default 20,000), each carrying a news-agency
style article: a title with entities, link, guid, dates, author, categories
and an HTML body of several paragraphs with links, emphasis, lists and
entities, escaped the way real feeds escape it (entity-escaped in RSS
descriptions, CDATA in content:encoded, type="html" and some type="xhtml" in
Atom).  The output is a pure function of the arguments.

Python 3 standard library only.
"""
import random
import sys
from xml.sax.saxutils import escape

WORDS = (
    "the minister said on Monday that talks with delegations from neighbouring "
    "countries would continue next week in the capital where officials met to "
    "discuss trade energy water security and the budget for the coming year "
    "while analysts expect markets to react to the decision of the central bank "
    "to keep interest rates unchanged amid rising prices of food and fuel across "
    "the region according to a statement published by the agency late on Sunday "
    "as thousands gathered in the city centre to mark the anniversary of the "
    "founding of the republic with parades concerts and exhibitions of art from "
    "provinces in the north and south of the country"
).split()
ACCENTED = ["café", "Zürich", "Hôtel-Dieu", "naïve", "São Paulo", "Gdańsk", "Tehrān",
            "İstanbul", "Ελλάδα", "Москва", "تهران", "東京", "—", "€", "“quoted”", "résumé"]
ENTITY_BITS = ["&amp;", "&quot;", "&#8217;", "&nbsp;", "&laquo;", "&raquo;", "&#8211;",
               "&eacute;", "&copy;", "&lt;", "&gt;"]
CATEGORIES = ["Politics", "Economy", "World", "Sport", "Culture", "Science", "Health",
              "Society", "Energy", "Technology", "Opinion", "Middle East", "Asia", "Europe"]
AUTHORS = ["Sara Ahmadi", "John O'Neill", "Mar\u00eda Fern\u00e1ndez", "Li Wei",
           "Desk Editor", "Ali Rezaei & staff"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def sentence(rnd):
    n = rnd.randint(8, 24)
    words = [rnd.choice(WORDS) for _ in range(n)]
    if rnd.random() < 0.3:
        words.insert(rnd.randrange(n), rnd.choice(ACCENTED))
    s = " ".join(words)
    return s[0].upper() + s[1:] + rnd.choice([".", ".", ".", "?", "!"])


def paragraph(rnd, n_id):
    """One HTML paragraph (a str of HTML, entities in it as HTML entities)."""
    parts = []
    for _ in range(rnd.randint(2, 5)):
        s = sentence(rnd)
        r = rnd.random()
        if r < 0.25:
            w = rnd.choice(WORDS)
            s = s.replace(" %s " % w, ' <a href="https://en.example-agency.ir/news/%d/%s?'
                          'ref=feed&amp;utm_source=rss">%s</a> ' % (n_id - rnd.randint(1, 999),
                                                                    w, w), 1)
        elif r < 0.4:
            w = rnd.choice(WORDS)
            s = s.replace(" %s " % w, " <strong>%s</strong> " % w, 1)
        elif r < 0.5:
            w = rnd.choice(WORDS)
            s = s.replace(" %s " % w, " <em>%s</em> " % w, 1)
        if rnd.random() < 0.35:
            s += " " + rnd.choice(ENTITY_BITS)
        parts.append(s)
    return "<p>%s</p>" % " ".join(parts)


def body(rnd, n_id, size):
    out = []
    total = 0
    if rnd.random() < 0.5:
        img = ('<p><img src="https://cdn.example-agency.ir/d/2024/%02d/%d.jpg" alt="%s" '
               'width="800" height="533" /></p>' % (rnd.randint(1, 12), n_id, rnd.choice(WORDS)))
        out.append(img)
        total += len(img)
    while total < size:
        r = rnd.random()
        if r < 0.08:
            items = "".join("<li>%s</li>" % sentence(rnd) for _ in range(rnd.randint(2, 4)))
            p = "<ul>%s</ul>" % items
        elif r < 0.12:
            p = "<blockquote><p>%s</p></blockquote>" % sentence(rnd)
        elif r < 0.16:
            p = "<h2>%s</h2>" % sentence(rnd)[:-1]
        else:
            p = paragraph(rnd, n_id)
        out.append(p)
        total += len(p)
    return "\n".join(out)


def title(rnd):
    t = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(5, 12)))
    t = t[0].upper() + t[1:]
    if rnd.random() < 0.3:
        t += " " + rnd.choice(ACCENTED)
    if rnd.random() < 0.2:
        t = "&#8216;%s&#8217;" % t  # escaped text, an entity in the XML
    return t


def rfc822(rnd, i):
    day = 1 + (i * 7) % 28
    return "%s, %02d %s 2024 %02d:%02d:%02d +0330" % (
        DAYS[(day + 2) % 7], day, MONTHS[(i // 28) % 12], rnd.randint(0, 23),
        rnd.randint(0, 59), rnd.randint(0, 59))


def iso(rnd, i):
    return "2024-%02d-%02dT%02d:%02d:%02dZ" % (
        1 + (i // 28) % 12, 1 + (i * 7) % 28, rnd.randint(0, 23), rnd.randint(0, 59),
        rnd.randint(0, 59))


def rss_entry(rnd, i, n_id, size):
    cats = "".join("<category>%s</category>" % escape(c)
                   for c in rnd.sample(CATEGORIES, rnd.randint(1, 3)))
    html = body(rnd, n_id, size)
    slug = "-".join(rnd.choice(WORDS) for _ in range(5))
    if i % 4 == 0:
        # Some publishers put the article in CDATA content:encoded and a
        # short lead in the description.
        desc = escape(sentence(rnd))
        more = "<content:encoded><![CDATA[%s]]></content:encoded>" % html
    else:
        desc = escape(html)
        more = ""
    return (
        "<item>\n<title>%s</title>\n"
        "<link>https://en.example-agency.ir/news/%d/%s</link>\n"
        '<guid isPermaLink="true">https://en.example-agency.ir/news/%d/%s</guid>\n'
        "<pubDate>%s</pubDate>\n<dc:creator>%s</dc:creator>\n%s\n"
        "<description>%s</description>%s\n"
        '<enclosure url="https://cdn.example-agency.ir/d/%d.jpg" type="image/jpeg" '
        'length="%d"/>\n</item>\n'
        % (title(rnd), n_id, slug, n_id, slug, rfc822(rnd, i), escape(rnd.choice(AUTHORS)),
           cats, desc, more, n_id, rnd.randint(20000, 400000)))


def atom_entry(rnd, i, n_id, size):
    cats = "".join('<category term="%s"/>' % escape(c, {'"': "&quot;"})
                   for c in rnd.sample(CATEGORIES, rnd.randint(1, 3)))
    html = body(rnd, n_id, size)
    slug = "-".join(rnd.choice(WORDS) for _ in range(5))
    if i % 5 == 0:
        # Inline XHTML: the same markup as elements rather than text (the
        # generated HTML is well-formed; entities become characters).
        x = (html.replace("&nbsp;", "\u00a0").replace("&laquo;", "\u00ab")
             .replace("&raquo;", "\u00bb").replace("&eacute;", "\u00e9")
             .replace("&copy;", "\u00a9"))
        content = ('<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">%s'
                   '</div></content>' % x)
    else:
        content = '<content type="html">%s</content>' % escape(html)
    when = iso(rnd, i)
    return (
        "<entry>\n<title type=\"html\">%s</title>\n"
        '<link rel="alternate" type="text/html" '
        'href="https://en.example-agency.ir/news/%d/%s?a=1&amp;b=2"/>\n'
        "<id>tag:example-agency.ir,2024:news-%d</id>\n"
        "<published>%s</published><updated>%s</updated>\n"
        "<author><name>%s</name></author>\n%s\n"
        '<summary type="html">%s</summary>\n%s\n</entry>\n'
        % (escape(title(rnd)), n_id, slug, n_id, when, when, escape(rnd.choice(AUTHORS)),
           cats, escape(sentence(rnd)), content))


def main(argv):
    if len(argv) < 3 or argv[1] not in ("rss", "atom"):
        sys.stderr.write("usage: gen_feed.py rss|atom OUT [ENTRIES [MEGABYTES]]\n")
        return 2
    kind, path = argv[1], argv[2]
    entries = int(argv[3]) if len(argv) > 3 else 20000
    target = int(float(argv[4]) * 1e6) if len(argv) > 4 else 50 * 1000 * 1000
    rnd = random.Random(2024 if kind == "rss" else 2025)
    if kind == "rss":
        parts = ['<?xml version="1.0" encoding="UTF-8"?>\n'
                 '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
                 'xmlns:dc="http://purl.org/dc/elements/1.1/" '
                 'xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>\n'
                 "<title>Example Agency &#8211; All news</title>\n"
                 "<link>https://en.example-agency.ir/</link>\n"
                 '<atom:link href="https://en.example-agency.ir/rss" rel="self" '
                 'type="application/rss+xml"/>\n'
                 "<description>The latest news from Example Agency</description>\n"
                 "<language>en</language>\n"
                 "<lastBuildDate>Mon, 01 Jan 2024 12:00:00 +0330</lastBuildDate>\n"]
        make, tail = rss_entry, "</channel>\n</rss>\n"
    else:
        parts = ['<?xml version="1.0" encoding="utf-8"?>\n'
                 '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">\n'
                 "<title>Example Agency \u2013 All news</title>\n"
                 '<link rel="alternate" href="https://en.example-agency.ir/"/>\n'
                 '<link rel="self" href="https://en.example-agency.ir/atom"/>\n'
                 "<id>tag:example-agency.ir,2024:all</id>\n"
                 "<updated>2024-01-01T08:30:00Z</updated>\n"
                 "<subtitle>The latest news from Example Agency</subtitle>\n"]
        make, tail = atom_entry, "</feed>\n"
    # Each body is asked for the bytes still to go per entry, scaled by how
    # much an entry has come out larger than its body (fields, escaping),
    # and varied so that entries differ.
    written = sum(len(p.encode()) for p in parts) + len(tail)
    asked = got = 1
    for i in range(entries):
        share = (target - written) / (entries - i)
        size = max(200, int(share * asked / got * rnd.uniform(0.6, 1.4)))
        e = make(rnd, i, 85000000 + entries - i, size)
        n = len(e.encode())
        parts.append(e)
        written += n
        asked += size
        got += n
    parts.append(tail)
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

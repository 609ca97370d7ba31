#!/usr/bin/env python3
"""Hostile article pages for tests/cli/hostile_html.sh (`feedd extract`).

Writes each page as OUTDIR/<name>.html, plus secret.txt, the file that the
XXE pages try to reach.  Most pages wrap their attack in the shape of a
nastooh article (the fixture's classes), so the extractor goes past its
"is this an article?" checks and runs its field rules on the hostile part.
Output is a pure function of OUTDIR (which the XXE pages name in their
file:// URLs): a failure is reproduced with `gen_html.py DIR NAME` and
`feedd extract --url URL DIR/NAME.html`.

    gen_html.py OUTDIR [NAME...]    write all pages, or only the named ones
    gen_html.py --list              print the page names

Python 3 standard library only.
"""
import os
import sys

# What a leak would look like: secret.txt holds MARKER, which no page holds.
MARKER = "FEEDD-HTML-SECRET-91c3a7"

# The URL hostile_html.sh passes with --url: its news ID is the pages'.
NEWS_ID = "85859288"
URL = "https://en.irna.ir/news/%s/Hostile-page" % NEWS_ID

MiB = 1 << 20
MAX_PAGE = 8 * MiB  # max_article_size's default, and extract's limit without -c


def article(title="Hostile page", body="<p>Body.</p>", head="", doctype="<!DOCTYPE html>\n",
            charset="utf-8", before=""):
    """A nastooh article page around the given markup (str)."""
    meta = '<meta charset="%s">\n' % charset if charset else ""
    return (
        doctype + '<html lang="en">\n<head>\n' + meta +
        "<title>%s - IRNA English</title>\n" % title +
        '<meta property="og:title" content="%s">\n' % title +
        '<meta property="og:url" content="%s">\n' % URL + head + "</head>\n<body>\n" + before +
        '<article class="item-news">\n<div class="item-header">\n'
        '<div class="item-date"><span>Jun 11, 2025, 7:16 PM</span></div>\n'
        '<div class="item-code"><span>News ID: </span><span>%s</span></div>\n' % NEWS_ID +
        '<h1 class="title"><a itemprop="headline" href="%s">%s</a></h1>\n</div>\n' % (URL, title) +
        '<p class="summary introtext">Lead of the hostile page.</p>\n'
        '<div class="item-body"><div class="item-text">\n' + body +
        "\n</div></div>\n</article>\n</body>\n</html>\n")


def pad_to(page, size, filler):
    """page (str, ASCII) with copies of filler inserted before its body's
    end so that it is exactly size bytes long."""
    cut = page.index("\n</div></div>\n</article>")
    need = size - len(page.encode("utf-8"))
    if need < 0:
        raise ValueError("page already larger than %d bytes" % size)
    fill = (filler * (need // len(filler) + 1))[:need]
    return page[:cut] + fill + page[cut:]


def write(outdir, name, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(outdir, name), "wb") as f:
        f.write(data)


def secret_url(d):
    return "file://" + os.path.join(os.path.abspath(d), "secret.txt")


# ---- sizes, depths and counts ---------------------------------------------

def deep_nesting(d):
    depth = 100000
    return article(body="<p>Before the deep part.</p>" + "<div>" * depth + "deep" +
                   "</div>" * depth + "<p>After the deep part.</p>")


def size_just_under(d):
    # 8 MiB less 1 KiB of ordinary paragraphs: must be read.
    para = "<p>%s</p>\n" % ("Ordinary words of an article that goes on. " * 20)
    return pad_to(article(), MAX_PAGE - 1024, para)


def size_just_over(d):
    # One byte over 8 MiB: must be refused with an error naming the limit.
    para = "<p>%s</p>\n" % ("Ordinary words of an article that goes on. " * 20)
    return pad_to(article(), MAX_PAGE + 1, para)


def script_only(d):
    # Nothing but scripts: markup inside them is text, not elements.
    js = ('<script>var s = "<div class=\\"item-body\\"><div class=\\"item-text\\">'
          '<p>not a paragraph</p></div></div>"; document.write(s); // </p></div>\n'
          "</script>\n")
    return "<!DOCTYPE html>\n<html><head>%s</head><body>%s</body></html>\n" % (js, js * 20000)


def million_elements(d):
    # 1,000,000 paragraphs of one letter each (8 MB) in the article body.
    return article(body="<p>x</p>" * 1000000)


def huge_attributes(d):
    # 2 MB attribute values where the extractor reads attributes (meta
    # content, img src, class), and one 1 MB attribute name.
    v = "A" * (2 * MiB)
    head = ('<meta property="og:description" content="%s">\n' % v +
            '<meta property="og:image" content="https://img.example/%s.jpg">\n' % v)
    body = ('<p class="%s">classy</p><figure class="item-img"><img src="https://img.example/%s">'
            "</figure><p %s=\"1\">after</p>" % (v[:MiB], v[:MiB], "n" * MiB))
    return article(head=head, body=body)


def many_meta(d):
    # 100,000 meta tags, many of them the OpenGraph fallbacks' names.
    names = ["og:title", "og:description", "og:image", "article:published_time",
             "article:tag", "og:locale", "twitter:title", "keywords"]
    head = "".join('<meta property="%s" content="value %d">\n' % (names[i % len(names)], i)
                   for i in range(100000))
    return article(head=head)


def json_ld(d):
    # 5 MB of JSON-LD nested 10,000 deep, inside an article page.
    depth = 10000
    inner = '{"@type":"NewsArticle","headline":"Deep JSON-LD","articleBody":"%s"}' % (
        "word " * 100)
    nest = '{"@context":"https://schema.org","a":' * depth + inner + "}" * depth
    filler = ',{"@type":"Thing","name":"%s"}' % ("n" * 1000)
    count = (5 * MiB - len(nest)) // len(filler)
    ld = "[" + nest + filler * count + "]"
    head = '<script type="application/ld+json">%s</script>\n' % ld
    return article(head=head)


# ---- broken bytes and lying encodings -----------------------------------------

def nul_bytes(d):
    return article(title="Title\0with NUL",
                   body="<p>Before\0after.</p><p class=\"a\0b\">x\0</p>\0<p>\0\0\0</p>")


def invalid_utf8(d):
    bad = [b"\xff", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
           b"\xc3", b"\xe2\x82", b"\x80\x80"]
    page = article(title="Bad @@0 title", body="".join("<p>Bad @@%d here.</p>" % i
                                                        for i in range(len(bad))))
    data = page.encode("ascii")
    for i, b in enumerate(bad):
        data = data.replace(b"@@%d" % i, b)
    return data


def utf16_lie(d):
    # Declares UTF-16 three ways (meta charset, http-equiv, XML declaration)
    # and is plain UTF-8 with Persian text.
    head = '<meta http-equiv="Content-Type" content="text/html; charset=UTF-16LE">\n'
    page = article(title="\u062e\u0628\u0631 \u0641\u0648\u0631\u06cc", charset="utf-16",
                   head=head, body="<p>\u0645\u062a\u0646 \u062e\u0628\u0631.</p>",
                   doctype='<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE html>\n')
    return page.encode("utf-8")


# ---- entity bombs and things that point outside -----------------------------

def billion_laughs(d):
    ents = ['<!ENTITY lol "lol">']
    for i in range(1, 10):
        prev = "lol" if i == 1 else "lol%d" % (i - 1)
        ents.append('<!ENTITY lol%d "%s">' % (i, ("&%s;" % prev) * 10))
    doctype = "<!DOCTYPE html [\n %s\n]>\n" % "\n ".join(ents)
    return article(title="Laughs &lol9;", doctype=doctype,
                   body="<p>&lol9;</p>" * 100 + "<p>&lol9;&lol9;&lol9;</p>")


def xxe_entities(d):
    doctype = ('<!DOCTYPE html [\n <!ENTITY xxe SYSTEM "%s">\n'
               ' <!ENTITY pw SYSTEM "file:///etc/passwd">\n'
               ' <!ENTITY rel SYSTEM "secret.txt">\n'
               ' <!ENTITY net SYSTEM "http://10.255.255.1/x.txt">\n'
               ' <!ENTITY %% pe SYSTEM "%s">\n %%pe;\n]>\n' % (secret_url(d), secret_url(d)))
    return article(title="XXE &xxe; &pw;", doctype=doctype,
                   body="<p>&xxe;</p><p>&pw;</p><p>&rel;</p><p>&net;</p>",
                   head='<meta property="og:description" content="&xxe;&pw;">\n')


def xxe_external_dtd(d):
    doctype = '<!DOCTYPE html SYSTEM "%s">\n' % secret_url(d)
    return article(doctype=doctype, body="<p>External DTD.</p>")


def xinclude_and_stylesheets(d):
    head = ('<link rel="stylesheet" href="%s">\n' % secret_url(d) +
            '<link rel="import" href="file:///etc/passwd">\n'
            '<base href="file:///etc/">\n')
    body = ('<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="%s" parse="text"/>'
            '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd" '
            'parse="text"/><iframe src="file:///etc/passwd"></iframe>'
            '<object data="%s"></object><p>After the includes.</p>' % (secret_url(d),
                                                                        secret_url(d)))
    doctype = ('<?xml version="1.0"?>\n<?xml-stylesheet type="text/xsl" href="%s"?>\n'
               '<?xml-stylesheet href="file:///etc/passwd"?>\n<!DOCTYPE html>\n' % secret_url(d))
    return article(doctype=doctype, head=head, body=body)


CASES = {
    "deep_nesting": deep_nesting,
    "size_just_under": size_just_under,
    "size_just_over": size_just_over,
    "script_only": script_only,
    "million_elements": million_elements,
    "huge_attributes": huge_attributes,
    "many_meta": many_meta,
    "json_ld": json_ld,
    "nul_bytes": nul_bytes,
    "invalid_utf8": invalid_utf8,
    "utf16_lie": utf16_lie,
    "billion_laughs": billion_laughs,
    "xxe_entities": xxe_entities,
    "xxe_external_dtd": xxe_external_dtd,
    "xinclude_and_stylesheets": xinclude_and_stylesheets,
}


def main(argv):
    if argv[1:] == ["--list"]:
        print("\n".join(CASES))
        return 0
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    outdir, names = argv[1], argv[2:] or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        sys.stderr.write("gen_html.py: unknown page: %s\n" % " ".join(unknown))
        return 2
    os.makedirs(outdir, exist_ok=True)
    write(outdir, "secret.txt", MARKER + "\n")
    for n in names:
        write(outdir, n + ".html", CASES[n](outdir))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

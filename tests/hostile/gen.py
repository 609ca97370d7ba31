#!/usr/bin/env python3
"""Hostile feed documents for tests/cli/hostile.sh.

Writes each document as OUTDIR/<name>.xml, plus the files that the XXE
documents try to reach (secret.txt, evil.dtd, ext.dtd).  Output is a pure
function of OUTDIR (which the XXE documents name in their file:// URLs), so a
failure can be reproduced with `gen.py DIR NAME` and `feedd parse DIR/NAME.xml`.

    gen.py OUTDIR [NAME...]    write all documents, or only the named ones
    gen.py --list              print the document names

Python 3 standard library only.
"""
import os
import random
import sys

# What a leak would look like: secret.txt holds MARKER, ext.dtd DTD_MARKER.
# Neither string appears in any feed document.
MARKER = "FEEDD-XXE-SECRET-4b1f9c"
DTD_MARKER = "FEEDD-DTD-SECRET-7e02d5"

HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'


def rss(items, doctype="", title="Hostile feed", extra_ns=""):
    """An RSS 2.0 document around the given <item> markup (a str)."""
    return (HEAD + doctype +
            '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"%s>\n'
            '<channel>\n<title>%s</title>\n<link>https://example.org/</link>\n'
            '<description>hostile input</description>\n%s</channel>\n</rss>\n'
            % (extra_ns, title, items))


def item(n, title=None, body=None, more=""):
    return ('<item><title>%s</title><link>https://example.org/news/%d/x</link>'
            '<guid>https://example.org/news/%d/x</guid><description>%s</description>%s'
            '</item>\n' % (title if title is not None else "Item %d" % n, n, n,
                           body if body is not None else "Body of item %d." % n, more))


def write(outdir, name, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(outdir, name), "wb") as f:
        f.write(data)


# ---- entity bombs ---------------------------------------------------------

def billion_laughs(d):
    ents = ['<!ENTITY lol "lol">']
    for i in range(1, 10):
        prev = "lol" if i == 1 else "lol%d" % (i - 1)
        ents.append('<!ENTITY lol%d "%s">' % (i, ("&%s;" % prev) * 10))
    doctype = "<!DOCTYPE rss [\n %s\n]>\n" % "\n ".join(ents)
    items = item(1, "Laughs &lol9;", "&lol9;&lol9;",
                 '<enclosure url="https://example.org/&lol9;.mp3" type="audio/mpeg" '
                 'length="1"/><category>&lol9;</category>')
    items += item(2, "After the laughs")
    return rss(items, doctype, title="&lol9;")


def billion_laughs_param(d):
    # The same bomb through parameter entities inside the internal subset.
    ents = ['<!ENTITY % p0 "lol">']
    for i in range(1, 10):
        ents.append('<!ENTITY %% p%d "%s">' % (i, ("%%p%d;" % (i - 1)) * 10))
    ents.append('<!ENTITY % defn "<!ENTITY bomb \'%p9;\'>">')
    ents.append("%defn;")
    doctype = "<!DOCTYPE rss [\n %s\n]>\n" % "\n ".join(ents)
    return rss(item(1, "Param &bomb;", "&bomb;"), doctype)


def quadratic_blowup(d):
    # One 50,000-character entity referenced 100,000 times: 5 GB expanded.
    doctype = '<!DOCTYPE rss [<!ENTITY qq "%s">]>\n' % ("Q" * 50000)
    body = "&qq;" * 100000
    return rss(item(1, "Quadratic &qq;", body) + item(2, "After the blowup"), doctype)


# ---- external entities ------------------------------------------------------

def secret_url(d):
    return "file://" + os.path.join(os.path.abspath(d), "secret.txt")


def xxe_passwd_title(d):
    doctype = '<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    return rss(item(1, "Passwd &xxe; here", "see the title"), doctype, title="&xxe;")


def xxe_file_description(d):
    doctype = '<!DOCTYPE rss [<!ENTITY xxe SYSTEM "%s">]>\n' % secret_url(d)
    return rss(item(1, "File in description", "before &xxe; after",
                    '<content:encoded><![CDATA[cdata]]>&xxe;</content:encoded>'),
               doctype, extra_ns=' xmlns:content="http://purl.org/rss/1.0/modules/content/"')


def xxe_relative(d):
    # A relative system id: resolved against the document (or the working
    # directory, which the test sets to the directory holding secret.txt).
    doctype = ('<!DOCTYPE rss [<!ENTITY xxe SYSTEM "secret.txt">'
               '<!ENTITY pw SYSTEM "../../../../../../../../etc/passwd">]>\n')
    return rss(item(1, "Relative &xxe;", "&xxe; and &pw;"), doctype, title="&pw;")


def xxe_attribute(d):
    doctype = ('<!DOCTYPE rss [<!ENTITY xxe SYSTEM "%s">'
               '<!ENTITY pw SYSTEM "file:///etc/passwd">]>\n' % secret_url(d))
    more = ('<enclosure url="https://example.org/&xxe;.mp3" type="&pw;" length="1"/>'
            '<atom:link rel="enclosure" href="https://example.org/&pw;"/>'
            '<category domain="&xxe;">&xxe;</category>')
    return rss(item(1, "Attributes", '<a href="&amp;xxe;">x</a>', more), doctype)


def xxe_atom(d):
    return (HEAD + '<!DOCTYPE feed [<!ENTITY xxe SYSTEM "%s">'
            '<!ENTITY pw SYSTEM "file:///etc/passwd">]>\n'
            '<feed xmlns="http://www.w3.org/2005/Atom" xml:base="&xxe;">\n'
            '<title type="html">&xxe;</title><subtitle>&pw;</subtitle>'
            '<id>urn:x</id><updated>2024-01-01T00:00:00Z</updated>\n'
            '<entry><title>Atom &pw;</title><id>urn:x:1</id>'
            '<link href="&xxe;"/><updated>2024-01-01T00:00:00Z</updated>'
            '<author><name>&pw;</name></author>'
            '<summary type="html">&xxe;</summary>'
            '<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">&pw;</div>'
            '</content></entry>\n</feed>\n' % secret_url(d))


def xxe_parameter(d):
    # Classic out-of-band XXE: a parameter entity pulls in a DTD that
    # defines entities over the secret.
    doctype = ('<!DOCTYPE rss [\n <!ENTITY %% ext SYSTEM "file://%s/evil.dtd">\n %%ext;\n'
               ' <!ENTITY %% local SYSTEM "%s">\n %%local;\n]>\n'
               % (os.path.abspath(d), secret_url(d)))
    return rss(item(1, "Param &leak;", "&leak; &exfil;"), doctype, title="&leak;")


def xxe_external_dtd(d):
    doctype = '<!DOCTYPE rss SYSTEM "file://%s/ext.dtd">\n' % os.path.abspath(d)
    return rss(item(1, "External DTD &dtdmark;", "&leak;"), doctype, title="&dtdmark;")


def xxe_external_dtd_relative(d):
    doctype = '<!DOCTYPE rss PUBLIC "-//feedd//hostile//EN" "ext.dtd">\n'
    return rss(item(1, "Relative DTD &dtdmark;", "&leak;"), doctype)


def xxe_external_dtd_network(d):
    # An unroutable address: a parser that fetched it would hang.
    doctype = ('<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
               '"http://10.255.255.1/rss-0.91.dtd">\n')
    return rss(item(1, "Network DTD &dtdmark;", "&amp;"), doctype)


def xxe_xinclude(d):
    return rss(item(1, "XInclude",
                    '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
                    'href="%s" parse="text"/>' % secret_url(d),
                    '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
                    'href="file:///etc/passwd" parse="text"/>'))


def xxe_utf16(d):
    # The same attack in UTF-16LE with a byte-order mark: the DOCTYPE must
    # be recognised after decoding, not only in ASCII.
    s = xxe_file_description(d).replace('encoding="UTF-8"', 'encoding="UTF-16"')
    return b"\xff\xfe" + s.encode("utf-16-le")


def xxe_utf7(d):
    # UTF-7, where '<' is "+ADw-" on the wire.
    s = xxe_passwd_title(d).replace('encoding="UTF-8"', 'encoding="UTF-7"')
    return s.encode("utf-7")


def xxe_doctype_tricks(d):
    # A bracket and a quote inside comments of the internal subset, a '>'
    # inside a quoted literal: a DOCTYPE skipper that counts naively may end
    # too early and let the declarations through.
    doctype = ('<!DOCTYPE rss [\n'
               ' <!-- ] > -->\n'
               ' <!ENTITY gt2 "]>">\n'
               ' <!ENTITY xxe SYSTEM "%s">\n'
               ' <!ENTITY pw SYSTEM "file:///etc/passwd">\n'
               ']>\n' % secret_url(d))
    return rss(item(1, "Tricks &xxe;", "&pw;") + item(2, "Second"), doctype)


# ---- sizes and shapes -------------------------------------------------------

def deep_nesting(d):
    depth = 200000
    body = "<d>" * depth + "deep" + "</d>" * depth
    items = item(1, "Before the deep one")
    items += ('<item><title>Deep</title><link>https://example.org/news/2/x</link>%s'
              '</item>\n' % body)
    items += item(3, "After the deep one")
    return rss(items)


def deep_nesting_content(d):
    # Deep markup inside a captured field (content:encoded, not CDATA).
    depth = 200000
    body = "<b>" * depth + "deep" + "</b>" * depth
    items = item(1, "Before the deep one")
    items += item(2, "Deep content", "short",
                  "<content:encoded>%s</content:encoded>" % body)
    return rss(items, extra_ns=' xmlns:content="http://purl.org/rss/1.0/modules/content/"')


def huge_title(d):
    # 64,000,000 bytes of title text (just under the 64 MiB document cap),
    # with multibyte characters so a cut can land inside one.
    word = "h\u00e9llo w\u00f6rld \u65e5\u672c "
    unit = word.encode("utf-8")
    n = 64000000 // len(unit)
    parts = [HEAD.encode(), b'<rss version="2.0"><channel><title>Huge</title>'
             b'<link>https://example.org/</link>\n<item><title>', unit * n,
             b'</title><link>https://example.org/news/1/x</link></item>\n',
             item(2, "After the huge title").encode(), b"</channel></rss>\n"]
    return b"".join(parts)


def million_items(d):
    n = 1000000
    parts = [HEAD, '<rss version="2.0"><channel><title>Many</title>\n']
    parts.extend("<item><title>%d</title></item>\n" % i for i in range(1, n + 1))
    parts.append("</channel></rss>\n")
    return "".join(parts)


def truncated(d):
    items = "".join(item(i, "Item %d" % i, "Paragraph one of item %d. " % i * 8)
                    for i in range(1, 6))
    doc = rss(items).encode()
    third = doc.index(b"<item><title>Item 3</title>")
    cut = doc.index(b"Paragraph one of item 3", third) + 60
    return doc[:cut]


def nul_bytes(d):
    rnd = random.Random(1)
    items = "".join(item(i, "Title %d" % i, "Some text of item %d with words." % i)
                    for i in range(1, 11))
    doc = bytearray(rss(items).encode())
    # NULs in text and between elements (never inside a tag or the XML
    # declaration, which would turn the document into something else).
    start = doc.index(b"<channel>")
    out = bytearray(doc[:start])
    in_tag = False
    for b in doc[start:]:
        if b == ord("<"):
            in_tag = True
        if not in_tag and rnd.random() < 0.05:
            out += b"\0" * rnd.randint(1, 3)
        out.append(b)
        if b == ord(">"):
            in_tag = False
    return bytes(out)


def random_bytes(d):
    rnd = random.Random(42)
    return bytes(rnd.getrandbits(8) for _ in range(1 << 20))


def empty(d):
    return b""


def html_page(d):
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<title>Not a feed</title><link rel="alternate" type="application/rss+xml" '
            'href="/rss"></head>\n<body><h1>Welcome</h1><p>Some <b>text<br>and '
            '&nbsp;entities &copy; 2024<p>Unclosed paragraph<img src=x.png>\n'
            '<script>if (a < b && c > d) {}</script></body></html>\n')


def invalid_utf8(d):
    bad = [b"\xff\xfe", b"\xc3\x28", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
           b"\xe2\x82", b"\x80\x80", b"\xf8\x88\x80\x80\x80"]
    items = b""
    for i, seq in enumerate(bad, 1):
        items += ("<item><title>Bad %d " % i).encode() + seq + b" end</title>" + \
                 ("<link>https://example.org/news/%d/x</link><description>" % i).encode() + \
                 seq + b"</description></item>\n"
    return (HEAD.encode() + b'<rss version="2.0"><channel><title>Bad \xe9 bytes</title>\n' +
            items + b"</channel></rss>\n")


def oversize_100mb(d):
    # 100 MB of well-formed RSS in ~4 KB items: the 64 MiB document cap is
    # reached long before max_entries.
    rnd = random.Random(7)
    words = ("news agency report minister talks economy weather market sport "
             "culture science city council election budget water energy").split()
    parts = [HEAD, '<rss version="2.0"><channel><title>Oversize</title>\n']
    size, i = 0, 0
    target = 100 * 1000 * 1000
    while size < target:
        i += 1
        para = " ".join(rnd.choice(words) for _ in range(60))
        body = "&lt;p&gt;%s&lt;/p&gt;" % para * 9
        s = item(i, "Oversize item %d" % i, body)
        parts.append(s)
        size += len(s)
    parts.append("</channel></rss>\n")
    return "".join(parts)


# ---- algorithmic blowups -------------------------------------------------

# Each of these is a few MB that a linear parser reads in well under a
# second; anything quadratic in the count takes minutes.

def many_attributes(d):
    # One element with 400,000 distinct attributes (5 MB).
    attrs = " ".join('a%d="1"' % i for i in range(400000))
    return rss(item(1, "First") + '<item %s><title>Attrs</title></item>\n' % attrs +
               item(3, "Third"))


def many_categories(d):
    # 200,000 distinct categories in one item (5 MB).
    cats = "".join("<category>c%d</category>" % i for i in range(200000))
    return rss(item(1, "Categories", "x", cats) + item(2, "After the categories"))


def many_enclosures(d):
    # 150,000 distinct enclosures in one item (9 MB).
    encs = "".join('<enclosure url="https://example.org/e/%d.mp3" type="audio/mpeg"/>' % i
                   for i in range(150000))
    return rss(item(1, "Enclosures", "x", encs) + item(2, "After the enclosures"))


def tag_soup_titles(d):
    # Titles that decode to 350,000 "<a " each with no '>' (16 of them, 34
    # MB): tag stripping that searches to the end for each '<' is quadratic
    # in the field size.
    soup = "&lt;a " * 350000
    return rss("".join(item(i, soup) for i in range(1, 17)) + item(17, "After the soup"))


def many_entity_refs(d):
    # The internal subset's limit of 256 entities declared, and 1,500,000
    # references to one that is not (6 MB): a lookup that compared each
    # reference with every declared name would take minutes.
    ents = "".join('<!ENTITY e%d "v%d">' % (i, i) for i in range(256))
    doctype = "<!DOCTYPE rss [%s]>\n" % ents
    return rss(item(1, "Refs &e7;", "&zz;" * 1500000) + item(2, "After the refs"), doctype)


def long_names(d):
    # A 1 MB element name and a 1 MB attribute name.
    n = "n" * (1 << 20)
    return rss(item(1, "First") + "<%s>x</%s>\n" % (n, n) +
               '<item %s="1"><title>Long</title></item>\n' % n + item(3, "Third"))


def many_namespaces(d):
    # One element declaring 350,000 namespace prefixes (9 MB, under the 10
    # MB that libxml2 accepts in one start tag).
    decls = " ".join('xmlns:p%d="urn:%d"' % (i, i) for i in range(350000))
    return rss(item(1, "First") + "<item %s><title>NS</title></item>\n" % decls +
               item(3, "Third"))


CASES = {
    "billion_laughs": billion_laughs,
    "billion_laughs_param": billion_laughs_param,
    "quadratic_blowup": quadratic_blowup,
    "many_entity_refs": many_entity_refs,
    "xxe_passwd_title": xxe_passwd_title,
    "xxe_file_description": xxe_file_description,
    "xxe_relative": xxe_relative,
    "xxe_attribute": xxe_attribute,
    "xxe_atom": xxe_atom,
    "xxe_parameter": xxe_parameter,
    "xxe_external_dtd": xxe_external_dtd,
    "xxe_external_dtd_relative": xxe_external_dtd_relative,
    "xxe_external_dtd_network": xxe_external_dtd_network,
    "xxe_xinclude": xxe_xinclude,
    "xxe_utf16": xxe_utf16,
    "xxe_utf7": xxe_utf7,
    "xxe_doctype_tricks": xxe_doctype_tricks,
    "deep_nesting": deep_nesting,
    "deep_nesting_content": deep_nesting_content,
    "huge_title": huge_title,
    "million_items": million_items,
    "truncated": truncated,
    "nul_bytes": nul_bytes,
    "random_bytes": random_bytes,
    "empty": empty,
    "html_page": html_page,
    "invalid_utf8": invalid_utf8,
    "oversize_100mb": oversize_100mb,
    "many_attributes": many_attributes,
    "many_categories": many_categories,
    "many_enclosures": many_enclosures,
    "tag_soup_titles": tag_soup_titles,
    "long_names": long_names,
    "many_namespaces": many_namespaces,
}


def support_files(d):
    write(d, "secret.txt", MARKER + "\n")
    secret = secret_url(d)
    write(d, "evil.dtd",
          '<!ENTITY %% file SYSTEM "%s">\n'
          '<!ENTITY %% eval "<!ENTITY &#x25; exfil SYSTEM \'file:///nonexistent/?%%file;\'>">\n'
          '%%eval;\n%%exfil;\n'
          '<!ENTITY leak SYSTEM "%s">\n' % (secret, secret))
    write(d, "ext.dtd",
          '<!ENTITY dtdmark "%s">\n<!ENTITY leak SYSTEM "%s">\n' % (DTD_MARKER, secret))


def main(argv):
    if len(argv) == 2 and argv[1] == "--list":
        print("\n".join(CASES))
        return 0
    if len(argv) < 2:
        sys.stderr.write("usage: gen.py OUTDIR [NAME...] | --list\n")
        return 2
    d = argv[1]
    names = argv[2:] or list(CASES)
    for n in names:
        if n not in CASES:
            sys.stderr.write("gen.py: unknown document %s\n" % n)
            return 2
    os.makedirs(d, exist_ok=True)
    support_files(d)
    for n in names:
        write(d, n + ".xml", CASES[n](d))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
"""Checks the links of the built book and of the README. Python 3 standard library only.

    python3 docs/check_links.py [--book docs/book] [--readme README.md]

Book: every HTML file under the build directory (`mdbook build docs` writes docs/book/) is
parsed; every relative `href` and `src` must name a file inside the book, and a `#fragment` an
element with that `id` (or an `<a name=...>`) in the target page. External links (http:,
https:, mailto:, ...) are not fetched.

README: every relative link and image must name a file or directory of the repository, and a
`#fragment` into a Markdown file a heading of that file (GitHub's anchors).

Exits 1 listing every broken link, 0 otherwise.
"""

import argparse
import os
import re
import sys
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

LINK_ATTRS = {"href", "src"}
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def is_external(url):
    return bool(SCHEME.match(url)) or url.startswith("//")


class Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids = set()
        self.links = []  # (line, attribute, url)
        self.base = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        if tag == "base" and attrs.get("href") is not None:
            self.base = attrs["href"]
        for name in LINK_ATTRS:
            value = attrs.get(name)
            if value is not None:
                self.links.append((self.getpos()[0], name, value.strip()))

    handle_startendtag = handle_starttag


def parse_html(path):
    page = Page()
    with open(path, encoding="utf-8") as f:
        page.feed(f.read())
    page.close()
    return page


def check_book(book):
    book = os.path.realpath(book)
    if not os.path.isfile(os.path.join(book, "index.html")):
        return [f"{book}: no index.html (run `mdbook build docs` first)"], 0, 0
    pages = {}
    for root, _, files in os.walk(book):
        for name in files:
            if name.endswith(".html"):
                path = os.path.join(root, name)
                pages[path] = parse_html(path)

    def ids_of(path):
        if path not in pages:
            pages[path] = parse_html(path)
        return pages[path].ids

    broken, checked = [], 0
    for path, page in sorted(pages.items()):
        where = os.path.relpath(path, book)
        if page.base is not None and page.base.startswith("/"):
            # mdBook's 404.html: `<base href="/">` (the site's root, i.e. the book's root).
            base_dir = os.path.join(book, page.base.lstrip("/"))
        else:
            base_dir = os.path.dirname(path)
        for line, attr, url in sorted(set(page.links)):
            if not url or is_external(url) or url == "#":
                continue
            checked += 1
            parts = urlsplit(url)
            target_rel = unquote(parts.path)
            fragment = unquote(parts.fragment)
            if target_rel == "":
                target = path
            elif target_rel.startswith("/"):
                target = os.path.join(book, target_rel.lstrip("/"))
            else:
                target = os.path.join(base_dir, target_rel)
            target = os.path.realpath(target)
            if os.path.isdir(target):
                target = os.path.join(target, "index.html")
            label = f"{where}:{line}: {attr}=\"{url}\""
            if not (target == book or target.startswith(book + os.sep)):
                broken.append(f"{label}: points outside the book")
                continue
            if not os.path.isfile(target):
                broken.append(f"{label}: no such file {os.path.relpath(target, book)}")
                continue
            if fragment and target.endswith(".html") and fragment not in ids_of(target):
                broken.append(f"{label}: no id \"{fragment}\" in {os.path.relpath(target, book)}")
    return broken, checked, len(pages)


FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.S | re.M)
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REF_DEF = re.compile(r"^[ ]{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.M)
HTML_ATTR = re.compile(r"<(?:a|img)\b[^>]*?\b(?:href|src)=\"([^\"]+)\"", re.I)


def github_anchors(markdown):
    """The anchors GitHub gives a Markdown file's headings."""
    anchors, seen = set(), {}
    for line in FENCE.sub("", markdown).splitlines():
        m = re.match(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        text = re.sub(r"[`*_]|<[^>]+>", "", m.group(1))
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
        slug = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


def check_markdown(path, repo):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    prose = CODE_SPAN.sub("", FENCE.sub("", text))
    urls = INLINE_LINK.findall(prose) + REF_DEF.findall(prose) + HTML_ATTR.findall(prose)
    broken, checked = [], 0
    here = os.path.dirname(os.path.realpath(path))
    repo = os.path.realpath(repo)
    for url in urls:
        if is_external(url):
            continue
        checked += 1
        parts = urlsplit(url)
        target_rel, fragment = unquote(parts.path), unquote(parts.fragment)
        target = os.path.realpath(os.path.join(here, target_rel)) if target_rel else os.path.realpath(path)
        label = f"{os.path.relpath(path, repo)}: ({url})"
        if not (target == repo or target.startswith(repo + os.sep)):
            broken.append(f"{label}: points outside the repository")
        elif not os.path.exists(target):
            broken.append(f"{label}: no such file {os.path.relpath(target, repo)}")
        elif fragment and target.endswith(".md"):
            with open(target, encoding="utf-8") as f:
                if fragment not in github_anchors(f.read()):
                    broken.append(f"{label}: no heading \"{fragment}\" in {os.path.relpath(target, repo)}")
    return broken, checked


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book", default=os.path.join(repo, "docs", "book"), help="mdBook's output directory")
    parser.add_argument("--readme", default=os.path.join(repo, "README.md"), help="the README to check")
    args = parser.parse_args()

    broken, checked, pages = check_book(args.book)
    readme_broken, readme_checked = check_markdown(args.readme, repo)
    broken += readme_broken
    if broken:
        print(f"check_links: {len(broken)} broken link(s):", file=sys.stderr)
        for b in broken:
            print(f"  {b}", file=sys.stderr)
        return 1
    print(
        f"check_links: {checked} internal links in {pages} book pages and "
        f"{readme_checked} in {os.path.basename(args.readme)}: all resolve"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Doxygen input filter for the Markdown guides (docs/Doxyfile.in, FILTER_PATTERNS).

The guides are written for GitHub: a heading's anchor is GitHub's slug of its text, and
links point at files of the repository. Doxygen 1.9 makes neither of those, so this
filter, run on each .md file as Doxygen reads it, rewrites (line for line, so that
Doxygen's warnings keep their line numbers):

- every heading but the page title gets an explicit id, `## Solver options` becoming
  `## Solver options {#docs_api-solver-options}`: the file's path and GitHub's slug;
- a link to an anchor, `[x](#callbacks)` or `[x](api.md#solver-options)`, becomes
  `[x](@ref docs_api-callbacks)`, so that a link to a heading that does not exist is a
  Doxygen warning (and fails the docs check) instead of a dead link;
- a link to a repository file that is not part of the documentation (`examples/`,
  `LICENSE`) becomes the link's text followed by the path in code, since the HTML has
  no such file.

Links to other pages (`math.md`, `docs/api.md`), to images and to URLs are left to
Doxygen. Fenced code blocks and inline code are left as they are. The files themselves
are not changed.

Usage: doxygen-md-filter.py FILE.md (prints the filtered text).
"""
import os
import re
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FENCE = re.compile(r'^\s{0,3}(```+|~~~+)')
HEADING = re.compile(r'^(#{1,6})\s+(.*?)\s*#*\s*$')
EXPLICIT_ID = re.compile(r'\{#[A-Za-z_][\w-]*\}\s*$')
# [text](target) or ![alt](target), with an optional "title"; text without nested brackets
LINK = re.compile(r'(!?)\[([^\]\n]*)\]\(\s*<?([^)\s>]+)>?(\s+"[^"]*")?\s*\)')
CODE_SPAN = re.compile(r'(`+)(.+?)\1')


def page_id(path):
    """docs/api.md -> docs_api: the file's own prefix for its heading ids."""
    rel = os.path.relpath(os.path.abspath(path), TOP)
    rel = re.sub(r'\.md$', '', rel)
    return re.sub(r'[^A-Za-z0-9]', '_', rel)


def github_slug(text):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', text)  # a link's text only
    text = text.lower()
    text = re.sub(r'[^\w\- ]', '', text)
    return text.replace(' ', '-')


def label(prefix, slug):
    return prefix + '-' + re.sub(r'[^A-Za-z0-9_-]', '_', slug)


def in_code(line, pos):
    """Whether position `pos` of a line lies inside an inline `code` span."""
    return any(m.start() <= pos < m.end() for m in CODE_SPAN.finditer(line))


def main():
    path = sys.argv[1]
    with open(path, encoding='utf-8') as f:
        lines = f.read().split('\n')
    here = os.path.dirname(os.path.abspath(path))
    prefix = page_id(path)

    # Pass 1: which lines are headings (outside fences), and their ids, deduplicated as
    # GitHub does (slug, slug-1, slug-2, ...).
    in_fence, fence = False, ''
    seen, heading_ids, title_done = {}, {}, False
    for i, line in enumerate(lines):
        m = FENCE.match(line)
        if m:
            if not in_fence:
                in_fence, fence = True, m.group(1)[0] * 3
            elif line.strip().startswith(fence):
                in_fence = False
            continue
        if in_fence:
            continue
        h = HEADING.match(line)
        if not h:
            continue
        slug = github_slug(h.group(2))
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        if n:
            slug = '%s-%d' % (slug, n)
        # the first level-1 heading is the page's title: Doxygen names the page after
        # the file, and an id here would rename it
        if not title_done and len(h.group(1)) == 1:
            title_done = True
            continue
        title_done = True
        if not EXPLICIT_ID.search(line):
            heading_ids[i] = label(prefix, slug)

    def rewrite_link(m):
        if in_code(m.string, m.start()):
            return m.group(0)  # `[x](y)` shown as code
        bang, text, target, title = m.group(1), m.group(2), m.group(3), m.group(4) or ''
        if bang or re.match(r'^[a-z][a-z0-9+.-]*:', target, re.I) or target.startswith('@'):
            return m.group(0)  # an image, a URL (http:, mailto:) or already a reference
        file_part, _, anchor = target.partition('#')
        if not file_part:
            return '[%s](@ref %s%s)' % (text, label(prefix, anchor), title)
        # the bindings' READMEs are not pages of the reference: shown as repository files
        outside = os.sep + 'bindings' + os.sep in os.path.normpath(os.path.join(here, file_part))
        if file_part.endswith('.md') and not outside:
            if anchor:
                return '[%s](@ref %s%s)' % (text, label(page_id(os.path.join(here, file_part)),
                                                        anchor), title)
            return m.group(0)  # a page: Doxygen resolves it
        # a file of the repository outside the documentation
        shown = file_part
        if text.strip('`') == shown:
            return '`%s`' % shown
        return '%s (`%s`)' % (text, shown)

    in_fence, fence = False, ''
    out = []
    for i, line in enumerate(lines):
        m = FENCE.match(line)
        if m:
            if not in_fence:
                in_fence, fence = True, m.group(1)[0] * 3
            elif line.strip().startswith(fence):
                in_fence = False
            out.append(line)
            continue
        if in_fence:
            out.append(line)
            continue
        line = LINK.sub(rewrite_link, line)
        if i in heading_ids:
            line = line.rstrip() + ' {#%s}' % heading_ids[i]
        out.append(line)
    sys.stdout.write('\n'.join(out))


if __name__ == '__main__':
    main()

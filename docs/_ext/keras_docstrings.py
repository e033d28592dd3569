"""Griffe extension: read Keras-style `Example:` sections as Google `Examples:`.

Keras docstrings (and ours) write the example flush with its title::

    Example:

    >>> layer = GaussianBlurLayer(sigma=1.0)

Google style, as griffe parses it, wants the section named `Examples:` with its
body indented and no blank line below the title; otherwise the `>>>` lines are
read as Markdown block quotes. This extension rewrites each docstring at load
time (the source files are not touched), so the doctests keep the Keras layout
that pytest runs (`--doctest-modules`) and the site shows them as code.
"""

import re

from griffe import Extension

_TITLE = re.compile(r"(?P<indent>[ \t]*)Examples?:[ \t]*")
# Another section title at the same indentation ends the example.
_SECTION = re.compile(r"[A-Z][\w ]*:[ \t]*")


def keras_examples_to_google(text):
    """Return `text` with every `Example:` section as an indented `Examples:`."""
    lines = text.split("\n")
    out = []
    i = 0
    while i < len(lines):
        match = _TITLE.fullmatch(lines[i])
        if match is None:
            out.append(lines[i])
            i += 1
            continue
        indent = match["indent"]
        body = []
        i += 1
        while i < len(lines):
            line = lines[i]
            rest = line[len(indent) :] if line.startswith(indent) else line
            if _SECTION.fullmatch(rest) and not rest.startswith(" "):
                break
            body.append(rest)
            i += 1
        while body and not body[0].strip():
            body.pop(0)
        trailing = []
        while body and not body[-1].strip():
            trailing.append("")
            body.pop()
        out.append(f"{indent}Examples:")
        out.extend(f"{indent}    {line}" if line.strip() else "" for line in body)
        out.extend(trailing)
    return "\n".join(out)


class KerasExamples(Extension):
    """Apply `keras_examples_to_google` to every docstring griffe loads."""

    def on_instance(self, *, obj, **kwargs):
        if obj.docstring is not None:
            obj.docstring.value = keras_examples_to_google(obj.docstring.value)

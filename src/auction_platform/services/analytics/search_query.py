"""What a person typed into the search box, parsed once and rendered for each backend.

The grammar is the one of PostgreSQL's ``websearch_to_tsquery`` (and of most search
boxes): words must all appear, ``"a phrase"`` must appear as written, ``-word``
must not appear, and ``or`` between terms offers alternatives. Everything else
(``*``, ``:``, ``^``, brackets, ``NEAR``, ``AND``...) is text, never syntax, so no
query can make a backend fail to parse it. Each backend gets the same meaning:

- SQLite FTS5: every word is a double-quoted string (FTS5 has no other escape), so
  FTS5's operators in user input are plain words.
- PostgreSQL: a rebuilt, normalised ``websearch_to_tsquery`` string.
- Elasticsearch: a ``bool`` query built from the terms (see ``search_es_query``).

Standard library only.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# A word is a run of letters and digits, in any script; "_" separates words as it
# does in FTS5's unicode61 tokenizer and PostgreSQL's parser.
_WORD = re.compile(r"[^\W_]+")
MAX_TERMS = 16
MAX_WORD_LENGTH = 64
# PostgreSQL's English stop words (``english.stop``). PostgreSQL drops them from
# queries and documents; so does the Elasticsearch analyzer (given this list); a
# lone stop word is dropped here too, so SQLite FTS5 (which knows none) does not
# demand that "the" appear. Inside a phrase they stay: FTS5 matches them there.
_STOP_WORDS = """
    i me my myself we our ours ourselves you your yours yourself yourselves he him his
    himself she her hers herself it its itself they them their theirs themselves what
    which who whom this that these those am is are was were be been being have has had
    having do does did doing a an the and but if or because as until while of at by for
    with about against between into through during before after above below to from up
    down in out on off over under again further then once here there when where why how
    all any both each few more most other some such no nor not only own same so than too
    very s t can will just don should now
"""
STOP_WORDS = frozenset(_STOP_WORDS.split())


@dataclass(frozen=True, slots=True)
class Term:
    """One word, or several that must appear together in this order (a phrase)."""

    words: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Group:
    """Terms that must all appear, and terms that must not."""

    include: tuple[Term, ...]
    exclude: tuple[Term, ...] = ()


@dataclass(frozen=True, slots=True)
class TextQuery:
    """Alternatives: a document matches when it matches any group."""

    groups: tuple[Group, ...]

    @property
    def empty(self) -> bool:
        """True when there is nothing to match on (list everything instead)."""
        return not self.groups


def fold(text: str) -> str:
    """Text in lower case without accents ("Straße Müller" -> "strasse muller").

    Documents and queries are folded here, in one place, before any backend sees
    them: "muller" finds "Müller" on PostgreSQL (which folds no accents without an
    extension, and lower-cases only ASCII under the C locale) exactly as on SQLite
    FTS5 and Elasticsearch.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return unicodedata.normalize("NFC", stripped)


def _words(text: str) -> tuple[str, ...]:
    return tuple(word[:MAX_WORD_LENGTH] for word in _WORD.findall(fold(text)))


def _tokens(text: str) -> list[tuple[str, bool]]:
    """``(chunk, quoted)`` pairs: quoted phrases and whitespace-separated chunks."""
    tokens: list[tuple[str, bool]] = []
    parts = text.split('"')
    for index, part in enumerate(parts):
        # Odd parts sit between quotes; an unclosed quote runs to the end.
        if index % 2 == 1:
            tokens.append((part, True))
        else:
            tokens.extend((chunk, False) for chunk in part.split())
    return tokens


def parse(text: str) -> TextQuery:
    """Parse a search box's text; never raises, whatever it holds."""
    groups: list[Group] = []
    include: list[Term] = []
    exclude: list[Term] = []
    count = 0
    negate_next = False

    def close_group() -> None:
        if include:  # a group of exclusions alone would match almost everything
            groups.append(Group(tuple(include), tuple(exclude)))
        include.clear()
        exclude.clear()

    for chunk, quoted in _tokens(text):
        if not quoted and chunk.lower() == "or":
            close_group()
            continue
        negate = negate_next or (not quoted and chunk.startswith("-"))
        negate_next = not quoted and chunk == "-"  # `- "phrase"`
        words = _words(chunk)
        if all(word in STOP_WORDS for word in words) or count >= MAX_TERMS:
            continue
        count += 1
        (exclude if negate else include).append(Term(words))
    close_group()
    return TextQuery(tuple(groups))


def _fts5_term(term: Term) -> str:
    # Words hold only letters and digits, so they never contain a double quote;
    # quoting makes AND, OR, NOT, NEAR and the rest plain words.
    return '"' + " ".join(term.words) + '"'


def to_fts5(query: TextQuery) -> str | None:
    """An FTS5 MATCH expression, or None for "no text condition"."""
    if query.empty:
        return None
    rendered = []
    for group in query.groups:
        expression = " AND ".join(_fts5_term(term) for term in group.include)
        for term in group.exclude:
            expression += " NOT " + _fts5_term(term)
        rendered.append(f"({expression})")
    return " OR ".join(rendered)


def _websearch_term(term: Term) -> str:
    text = " ".join(term.words)
    return f'"{text}"' if len(term.words) > 1 else text


def to_websearch(query: TextQuery) -> str | None:
    """A normalised ``websearch_to_tsquery`` string, or None for "no text condition"."""
    if query.empty:
        return None
    rendered = []
    for group in query.groups:
        parts = [_websearch_term(term) for term in group.include]
        parts += ["-" + _websearch_term(term) for term in group.exclude]
        rendered.append(" ".join(parts))
    return " or ".join(rendered)

"""The words the classifier reads: jieba's segmentation with a user dictionary of the office's own
place and organisation names kept whole, and a ticket's title read apart from its body."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.reading.text import fold

if TYPE_CHECKING:
    from bot.config import Config


TITLE_MAX = 60  # characters; the public set's longest 留言主题 has 42


def title_of(text: str) -> str:
    """The first line of a text of several lines (a ticket's text is its title, a new line, then
    its content), or "" when there is one line only, or when the first line is longer than
    :data:`TITLE_MAX`: a paragraph, not a title."""
    first, newline, _ = text.partition("\n")
    first = first.strip()
    return first if newline and len(first) <= TITLE_MAX else ""


def read_user_dict(path: Path) -> list[str]:
    """The words of a jieba user dictionary file: one word a line, optionally followed by a
    frequency and a part-of-speech tag (``word [freq] [tag]``); blank lines and ``#`` comments
    are skipped. Only the words are used: they are always kept whole."""
    words = []
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            words.append(line.split()[0])
    return words


def folded_names(words: Iterable[str]) -> list[str]:
    """Dictionary words as the readers match them: folded like the texts, two characters or more,
    each once, the longest first (so 「鹿鸣湾社区」 is tried before 「鹿鸣湾」)."""
    folded = {fold(w).strip() for w in words}
    return sorted((w for w in folded if len(w) > 1), key=lambda w: (-len(w), w))


def place_words(config: Config) -> list[str]:
    """The place and organisation names an office declares: ``[intelligence] user_words`` and the
    words of ``[intelligence] user_dict`` (the hot topics read them as places)."""
    words = list(config.intelligence.user_words)
    path = config.intelligence.user_dict_path(config.path.parent if config.path else None)
    if path is not None:
        words += read_user_dict(path)
    return words


def office_words(config: Config) -> list[str]:
    """The user dictionary of an office's classifier: its units' names and short names, the routing
    rules' keywords and :func:`place_words`."""
    words = [n for u in config.units for n in (u.name, u.short_name) if n]
    words += [k for rule in config.procedure.routing for k in rule.keywords or ()]
    return words + place_words(config)


class Segmenter:
    """jieba's words of a (folded) text, single characters dropped, with the user dictionary's
    words kept whole wherever they occur — "鹿鸣湾社区" stays one word instead of 鹿鸣 + 湾 + 社区.

    The dictionary is the model's own (pickled with it), not jieba's process-wide one, so models
    trained for different offices in one process do not change each other's words.

    ``hmm`` lets jieba join characters its dictionary lacks into words (its HMM): new models read
    so; those stored before it (unpickled without the flag) keep reading without."""

    def __init__(self, words: Iterable[str] = (), *, hmm: bool = False) -> None:
        self.words: tuple[str, ...] = tuple(folded_names(words))
        self.hmm = hmm
        self._by_first: dict[str, list[str]] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"words": self.words, "hmm": self.hmm}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.words = state["words"]
        self.hmm = state.get("hmm", False)
        self._by_first = None

    def _index(self) -> dict[str, list[str]]:
        if self._by_first is None:
            index: dict[str, list[str]] = {}
            for word in self.words:  # the longest first (folded_names): the longest match wins
                index.setdefault(word[0], []).append(word)
            self._by_first = index
        return self._by_first

    def __call__(self, text: str) -> list[str]:
        """The words of ``text`` (already folded) of two characters or more."""
        if not self.words:
            return _jieba_words(text, self.hmm)
        index = self._index()
        out: list[str] = []
        start = i = 0
        while i < len(text):
            found = next((w for w in index.get(text[i], ()) if text.startswith(w, i)), None)
            if found is None:
                i += 1
                continue
            out += _jieba_words(text[start:i], self.hmm)
            out.append(found)
            i = start = i + len(found)
        out += _jieba_words(text[start:], self.hmm)
        return out

    def title_terms(self, title: str) -> list[str]:
        """A title's own terms, apart from the body's: its words and its character 1–2-grams."""
        terms = ["T:" + w for w in self(title)]
        terms += ["t:" + c for c in title]
        terms += ["t:" + title[i:i + 2] for i in range(len(title) - 1)]
        return terms


def _jieba_words(text: str, hmm: bool = False) -> list[str]:
    import jieba

    return [w for w in jieba.lcut(text, HMM=hmm) if len(w) > 1] if text else []

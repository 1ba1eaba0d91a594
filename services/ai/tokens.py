"""Token counts and context windows: what fits in one request to a model.

Counts come from tiktoken for the models it knows, when its encoding files are on this
machine (tiktoken downloads them on first use, which fails offline: fill
``TIKTOKEN_CACHE_DIR`` when the image is built to get exact counts). Otherwise they come
from :func:`estimate_tokens`, a documented estimate that errs on the high side, so that a
text fitted with it fits for real. Servers report the tokens they billed; those figures,
not these, are what the enrich stage stores.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from services.ai.text import split_sentences

logger = logging.getLogger(__name__)

#: Context windows of well-known models, matched by the longest prefix of the name.
CONTEXT_WINDOWS = {
    "gpt-3.5-turbo": 16_385,
    "gpt-4": 8_192,
    "gpt-4-turbo": 128_000,
    "gpt-4o": 128_000,
    "gpt-4.1": 1_047_576,
    "gpt-5": 400_000,
    "o1": 200_000,
    "o3": 200_000,
    "o4-mini": 200_000,
}
#: The window assumed for any other model: Ollama's default ``num_ctx``. Ollama silently
#: drops the start of a longer prompt (the instructions), so guessing high is worse than
#: guessing low; AI_CONTEXT_TOKENS gives the real figure.
UNKNOWN_CONTEXT_WINDOW = 4_096
#: Models that think before answering: their completion budget includes the thinking,
#: and they take ``max_completion_tokens`` instead of ``max_tokens``.
REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")
#: OpenAI's accounting of a chat message's framing (role, separators) and of the reply's.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_REPLY = 3
#: How long to wait for tiktoken's files before settling for the estimate.
ENCODING_LOAD_SECONDS = 5.0

V = TypeVar("V")


def estimate_tokens(text: str) -> int:
    """Estimate the tokens of ``text`` without a tokenizer.

    ASCII counts one token per 4 characters (OpenAI's rule of thumb for English); letters
    of two UTF-8 bytes (accents, Greek, Cyrillic, Hebrew, Arabic) one per 2.5, as they
    split more; characters of three bytes or more (Chinese, Japanese, Korean, and
    typographic signs such as "…") one each. That is a little above what the tokenizers
    of GPT-4o or Llama 3 give, so a text fitted by the estimate fits for real.
    """
    if text.isascii():
        return math.ceil(len(text) / 4)
    # Counted from the encoded lengths rather than character by character: the
    # estimate runs several times per article and must cost next to nothing.
    ascii_chars = len(text.encode("ascii", "ignore"))
    others = len(text) - ascii_chars
    extra_bytes = len(text.encode("utf-8", "surrogatepass")) - len(text)
    wide = min(others, extra_bytes - others)
    return math.ceil(ascii_chars / 4 + (others - wide) / 2.5 + wide)


def _longest_prefix(model: str, table: dict[str, V]) -> V | None:
    matches = [name for name in table if model.lower().startswith(name)]
    return table[max(matches, key=len)] if matches else None


def context_window(model: str) -> int:
    """Return the context window of ``model`` in tokens (a safe guess when unknown)."""
    return _longest_prefix(model, CONTEXT_WINDOWS) or UNKNOWN_CONTEXT_WINDOW


def is_reasoning_model(model: str) -> bool:
    """Tell whether ``model`` is one of OpenAI's reasoning models."""
    return model.lower().startswith(REASONING_PREFIXES)


class Encoding(Protocol):
    """The part of a tiktoken encoding this module uses."""

    def encode(self, text: str, *, disallowed_special: Any = ...) -> list[int]:
        """Return the tokens of ``text``."""
        ...

    def decode(self, tokens: Sequence[int]) -> str:
        """Return the text of ``tokens``."""
        ...


def load_tiktoken(model: str) -> Encoding | None:
    """Return tiktoken's encoding of ``model``, or None when unknown or unavailable.

    The load runs in a daemon thread with a time limit: offline, tiktoken's download can
    hang until a network timeout, and a worker must not.
    """
    try:
        import tiktoken

        name = tiktoken.encoding_name_for_model(model)
    except (ImportError, KeyError):
        return None
    found: list[Encoding] = []

    def load() -> None:
        try:
            found.append(tiktoken.get_encoding(name))
        except Exception as ex:  # offline: requests' errors, or a corrupt cached file
            logger.info("tiktoken %s unavailable (%s); token counts are estimated", name, ex)

    loader = threading.Thread(target=load, name=f"tiktoken-{name}", daemon=True)
    loader.start()
    loader.join(ENCODING_LOAD_SECONDS)
    return found[0] if found else None


@dataclass
class TokenCounter:
    """Count and cut text in a model's tokens, exactly when possible."""

    model: str
    use_tiktoken: bool = True
    loader: Callable[[str], Encoding | None] = load_tiktoken

    def __post_init__(self) -> None:
        self._encoding: Encoding | None = None
        self._loaded = not self.use_tiktoken
        self._lock = threading.Lock()

    @property
    def encoding(self) -> Encoding | None:
        """Return the model's encoding, loading it on first use (None: estimating)."""
        if not self._loaded:
            with self._lock:
                if not self._loaded:
                    self._encoding = self.loader(self.model)
                    self._loaded = True
        return self._encoding

    @property
    def exact(self) -> bool:
        """Tell whether counts are the tokenizer's own, not the estimate."""
        return self.encoding is not None

    def count(self, text: str) -> int:
        """Return the tokens of ``text``."""
        encoding = self.encoding
        if encoding is None:
            return estimate_tokens(text)
        return len(encoding.encode(text, disallowed_special=()))

    def count_messages(self, messages: Sequence[dict[str, str]]) -> int:
        """Return the prompt tokens of chat ``messages``, framing included."""
        return TOKENS_PER_REPLY + sum(
            TOKENS_PER_MESSAGE + self.count(message["content"]) for message in messages
        )

    def truncate(self, text: str, limit: int) -> str:
        """Return the longest start of ``text`` within ``limit`` tokens, cut after a sentence."""
        if self.count(text) <= limit:
            return text
        encoding = self.encoding
        if encoding is not None:
            head = encoding.decode(encoding.encode(text, disallowed_special=())[:limit])
        else:
            head = text[: max(1, len(text) * limit // max(1, estimate_tokens(text)))]
            while head and estimate_tokens(head) > limit:
                head = head[: int(len(head) * 0.95)]
        return _at_sentence_end(head)

    def split(self, text: str, limit: int) -> list[str]:
        """Cut ``text`` into consecutive parts of at most ``limit`` tokens each.

        Parts end at paragraph ends where possible, else at sentence ends; a sentence
        longer than ``limit`` on its own is cut.
        """
        parts: list[str] = []
        current: list[str] = []
        size = 0
        for piece in _pieces(text, lambda line: self.count(line) > limit):
            tokens = self.count(piece) + 1
            if tokens > limit:
                piece = self.truncate(piece, limit - 1)
                tokens = self.count(piece) + 1
            if current and size + tokens > limit:
                parts.append("\n".join(current))
                current, size = [], 0
            current.append(piece)
            size += tokens
        if current:
            parts.append("\n".join(current))
        return parts


def _pieces(text: str, too_long: Callable[[str], bool]) -> list[str]:
    """Return the paragraphs of ``text``, each too long one as its sentences."""
    pieces: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        pieces.extend(split_sentences(line) if too_long(line) else [line.strip()])
    return pieces


def _at_sentence_end(head: str) -> str:
    """Cut ``head`` after its last sentence or paragraph end, unless that loses too much."""
    cut = max(head.rfind(". "), head.rfind("\n"), head.rfind("? "), head.rfind("! "))
    # A cut that drops more than a fifth of the head is worse than a broken sentence.
    if cut >= len(head) * 0.8:
        return head[: cut + 1].rstrip()
    return head.rstrip()

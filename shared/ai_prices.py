"""What tokens cost: a price table per model, in US dollars per million tokens.

The table is a setting (``AI_PRICES``), read over a built-in default of OpenAI's list
prices. A model matches the longest entry its name starts with, so a dated snapshot such
as ``gpt-4o-mini-2024-07-18`` costs what ``gpt-4o-mini`` costs; ``*`` matches any model
(``*=0/0`` says self-hosted models are free). A model with no entry has no known cost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

PER_TOKENS = 1_000_000
ANY_MODEL = "*"


@dataclass(frozen=True)
class Price:
    """Dollars per million prompt (input) and completion (output) tokens."""

    prompt: float
    completion: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """Return the dollars that many tokens cost."""
        return (prompt_tokens * self.prompt + completion_tokens * self.completion) / PER_TOKENS


# OpenAI's published standard-tier prices (USD per 1M tokens) when this table was written;
# they change: AI_PRICES overrides any of them.
DEFAULT_PRICES: Mapping[str, Price] = {
    "gpt-4o-mini": Price(0.15, 0.60),
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1": Price(2.00, 8.00),
    "gpt-5-nano": Price(0.05, 0.40),
    "gpt-5-mini": Price(0.25, 2.00),
    "gpt-5": Price(1.25, 10.00),
    "o4-mini": Price(1.10, 4.40),
    "o3-mini": Price(1.10, 4.40),
    "o3": Price(2.00, 8.00),
    "gpt-3.5-turbo": Price(0.50, 1.50),
}


def parse_prices(text: str) -> dict[str, Price]:
    """Parse ``model=prompt/completion`` entries separated by commas.

    Example: ``gpt-4o-mini=0.15/0.60, llama3.1=0/0, *=0/0`` (dollars per million tokens).
    Raise :class:`ValueError` naming the first entry that is not one.
    """
    prices: dict[str, Price] = {}
    for entry in text.split(","):
        if not entry.strip():
            continue
        model, equals, values = entry.partition("=")
        prompt, slash, completion = values.partition("/")
        try:
            price = Price(float(prompt), float(completion))
        except ValueError:
            price = None
        if (
            not (model.strip() and equals and slash and price)
            or min(price.prompt, price.completion) < 0
        ):
            raise ValueError(
                f"entry {entry.strip()!r}: expected model=prompt/completion dollars per "
                "million tokens, e.g. gpt-4o-mini=0.15/0.60"
            )
        prices[model.strip()] = price
    return prices


def price_of(model: str, prices: Mapping[str, Price]) -> Price | None:
    """Return the price of ``model``: its longest matching entry, ``*``, or None."""
    matches = [name for name in prices if name != ANY_MODEL and model.startswith(name)]
    if matches:
        return prices[max(matches, key=len)]
    return prices.get(ANY_MODEL)


def cost_of(
    model: str, prompt_tokens: int, completion_tokens: int, prices: Mapping[str, Price]
) -> float | None:
    """Return the estimated dollars of a call, or None when the model has no price."""
    price = price_of(model, prices)
    return None if price is None else round(price.cost(prompt_tokens, completion_tokens), 8)

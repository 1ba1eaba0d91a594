"""Prometheus metrics of the ai service: tokens spent, estimated cost, requests by outcome.

They count every request sent, the failed and the retried included, because those are
billed too; the tokens stored per item count only the attempt that succeeded. The
Dramatiq Prometheus exporter publishes them (its multiprocess registry collects the
default one).
"""

from __future__ import annotations

from prometheus_client import Counter

PROMPT_TOKENS = Counter(
    "kbm_ai_prompt_tokens",
    "Prompt (input) tokens sent to AI models.",
    ["provider", "model"],
)
COMPLETION_TOKENS = Counter(
    "kbm_ai_completion_tokens",
    "Completion (output) tokens received from AI models.",
    ["provider", "model"],
)
COST_USD = Counter(
    "kbm_ai_cost_usd",
    "Estimated cost of AI model requests in US dollars, from the price table.",
    ["provider", "model"],
)
REQUESTS = Counter(
    "kbm_ai_requests",
    "Requests to AI models by outcome (ok, rate_limited, server_error, timeout, "
    "connection_error, rejected, invalid_answer).",
    ["provider", "model", "outcome"],
)


def record_usage(
    provider: str, model: str, prompt_tokens: int, completion_tokens: int, cost: float | None
) -> None:
    """Count the tokens and the cost of one answered request."""
    PROMPT_TOKENS.labels(provider, model).inc(prompt_tokens)
    COMPLETION_TOKENS.labels(provider, model).inc(completion_tokens)
    if cost:
        COST_USD.labels(provider, model).inc(cost)


def record_request(provider: str, model: str, outcome: str) -> None:
    """Count one request to a model and how it ended."""
    REQUESTS.labels(provider, model, outcome).inc()

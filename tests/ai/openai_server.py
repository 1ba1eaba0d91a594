"""A loopback OpenAI-compatible server for tests and benchmarks.

It speaks ``POST /v1/chat/completions`` and ``GET /v1/models`` with OpenAI's documented
JSON, so the real SDK talks to it unchanged, and it can misbehave on demand: add
latency, stall, answer 429 with ``retry-after``, 5xx, ``context_length_exceeded``, refuse
``response_format`` kinds or ``max_tokens``, wrap its JSON in prose or code fences, or
give invalid answers. Its answers are derived from the request: the first category the
schema's enum (or the prompt's category line) offers, tags from the longest frequent
words of the article, the article's first sentence as the summary.

Use it as a context manager::

    with OpenAIServer(Behaviour(latency=0.2)) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="test")
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal

AnswerStyle = Literal["json", "fenced", "prose", "think"]

_WORD = re.compile(r"[a-zA-Z]{6,}")
_QUOTED = re.compile(r'"([^"]+)"')


@dataclass
class Behaviour:
    """How the server answers; counters (``rate_limits``…) are used up one per request."""

    latency: float = 0.0
    #: Answer this many requests with 429 first, with this retry-after (None: no header).
    rate_limits: int = 0
    retry_after: str | None = "1"
    #: Answer this many requests with ``server_error_status`` first.
    server_errors: int = 0
    server_error_status: int = 500
    #: Hold this many requests for ``stall_seconds`` before answering (client timeouts).
    stalls: int = 0
    stall_seconds: float = 2.0
    #: Refuse prompts longer than this many tokens (prompt + max tokens) with a 400.
    context_limit: int | None = None
    refuse_json_schema: bool = False
    refuse_json_object: bool = False
    #: Refuse ``max_tokens`` like OpenAI's reasoning models do.
    require_max_completion_tokens: bool = False
    #: Answer every request with this 400 invalid_request_error message.
    bad_request: str | None = None
    answer_style: AnswerStyle = "json"
    #: The language the enrichment names.
    language: str = "en"
    #: Give this many invalid answers (an unknown category, no tags) first.
    invalid_answers: int = 0
    #: Answer with these tags instead of the article's most frequent words.
    tags: list[str] | None = None
    report_usage: bool = True
    #: Require ``Authorization: Bearer <api_key>`` when set.
    api_key: str | None = None
    #: Models it serves; None serves any name.
    models: tuple[str, ...] | None = None


@dataclass
class Received:
    """What the server saw of one chat request, and what it answered."""

    body: dict[str, Any]
    headers: dict[str, str]
    status: int = 0


@dataclass
class OpenAIServer:
    """The server, its behaviour (changeable while it runs) and what it received."""

    behaviour: Behaviour = field(default_factory=Behaviour)
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def __enter__(self) -> OpenAIServer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    @property
    def bodies(self) -> list[dict[str, Any]]:
        """Return the JSON bodies of the chat requests received so far."""
        with self._lock:
            return [request.body for request in self.received]

    def take(self, counter: str) -> bool:
        """Use up one of a behaviour's counters; tell whether there was one left."""
        with self._lock:
            left = int(getattr(self.behaviour, counter))
            if left <= 0:
                return False
            setattr(self.behaviour, counter, left - 1)
            return True

    def record(self, body: dict[str, Any], headers: dict[str, str]) -> Received:
        """Keep a received request."""
        with self._lock:
            received = Received(body, headers)
            self.received.append(received)
            return received


def count_tokens(text: str) -> int:
    """Return the server's token count of ``text`` (one per four characters)."""
    return max(1, (len(text) + 3) // 4)


def prompt_tokens(messages: list[dict[str, Any]]) -> int:
    """Return the server's token count of chat messages, framing included."""
    return 3 + sum(4 + count_tokens(str(message.get("content") or "")) for message in messages)


def _error(message: str, kind: str, param: str | None, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def _handler(server: OpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: with Nagle's algorithm on, the body
        # waits for the client's delayed ACK (40 ms on Linux) on every kept-alive request.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            if self.path.rstrip("/") != "/v1/models":
                self._send(404, _error("Not found", "invalid_request_error", None, None))
                return
            names = server.behaviour.models or ("gpt-4o-mini",)
            data = [
                {"id": name, "object": "model", "created": 0, "owned_by": "test"} for name in names
            ]
            self._send(200, {"object": "list", "data": data})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send(404, _error("Not found", "invalid_request_error", None, None))
                return
            body = json.loads(raw or b"{}")
            received = server.record(
                body, {key.lower(): value for key, value in self.headers.items()}
            )
            status, answer, headers = self._answer(body)
            received.status = status
            self._send(status, answer, headers)

        def _answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
            behaviour = server.behaviour
            if (
                behaviour.api_key
                and self.headers.get("Authorization") != f"Bearer {behaviour.api_key}"
            ):
                return (
                    401,
                    _error(
                        "Incorrect API key provided.",
                        "invalid_request_error",
                        None,
                        "invalid_api_key",
                    ),
                    {},
                )
            model = str(body.get("model", ""))
            if behaviour.models is not None and model not in behaviour.models:
                return (
                    404,
                    _error(
                        f"The model `{model}` does not exist or you do not have access to it.",
                        "invalid_request_error",
                        None,
                        "model_not_found",
                    ),
                    {},
                )
            if behaviour.bad_request:
                return 400, _error(behaviour.bad_request, "invalid_request_error", None, None), {}
            if behaviour.require_max_completion_tokens and "max_tokens" in body:
                return (
                    400,
                    _error(
                        "Unsupported parameter: 'max_tokens' is not supported with this model. "
                        "Use 'max_completion_tokens' instead.",
                        "invalid_request_error",
                        "max_tokens",
                        "unsupported_parameter",
                    ),
                    {},
                )
            kind = (body.get("response_format") or {}).get("type")
            if (kind == "json_schema" and behaviour.refuse_json_schema) or (
                kind == "json_object" and behaviour.refuse_json_object
            ):
                return (
                    400,
                    _error(
                        f"Invalid value for 'response_format.type': '{kind}' is not supported by "
                        "this server.",
                        "invalid_request_error",
                        "response_format",
                        None,
                    ),
                    {},
                )
            messages = body.get("messages") or []
            prompt = prompt_tokens(messages)
            budget = int(body.get("max_completion_tokens") or body.get("max_tokens") or 0)
            if behaviour.context_limit is not None and prompt + budget > behaviour.context_limit:
                return (
                    400,
                    _error(
                        f"This model's maximum context length is {behaviour.context_limit} tokens. "
                        f"However, you requested {prompt + budget} tokens ({prompt} in the "
                        f"messages, {budget} in the completion). Please reduce the length of the "
                        "messages or completion.",
                        "invalid_request_error",
                        "messages",
                        "context_length_exceeded",
                    ),
                    {},
                )
            if server.take("stalls"):
                time.sleep(behaviour.stall_seconds)
            if server.take("rate_limits"):
                headers = {"retry-after": behaviour.retry_after} if behaviour.retry_after else {}
                return (
                    429,
                    _error(
                        f"Rate limit reached for {model} on requests per min (RPM): Limit 3, "
                        "Used 3, Requested 1.",
                        "requests",
                        None,
                        "rate_limit_exceeded",
                    ),
                    headers,
                )
            if server.take("server_errors"):
                return (
                    behaviour.server_error_status,
                    _error(
                        "The server had an error while processing your request.",
                        "server_error",
                        None,
                        None,
                    ),
                    {},
                )
            if behaviour.latency:
                time.sleep(behaviour.latency)
            content = _content(body, server)
            completion = count_tokens(content)
            answer: dict[str, Any] = {
                "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content, "refusal": None},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "system_fingerprint": None,
            }
            if behaviour.report_usage:
                answer["usage"] = {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                }
            return 200, answer, {}

        def _send(
            self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
        ) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


def _content(body: dict[str, Any], server: OpenAIServer) -> str:
    """Return the assistant's text for a request: a part summary or an enrichment."""
    messages = body.get("messages") or []
    system = next((str(m.get("content")) for m in messages if m.get("role") == "system"), "")
    article = _article_text(messages)
    if '"summary"' not in system:
        # A map step of a long article: a plain summary of the part.
        return _first_sentence(article)
    if server.take("invalid_answers"):
        enrichment: dict[str, Any] = {
            "summary": _first_sentence(article),
            "category": "Not a category",
            "tags": [],
            "sentiment": "neutral",
            "sentiment_score": 0.0,
            "language": "en",
        }
    else:
        enrichment = {
            "summary": _first_sentence(article),
            "category": _categories(body, system)[0],
            "tags": server.behaviour.tags or _tags(article),
            "sentiment": "neutral",
            "sentiment_score": 0.0,
            "language": server.behaviour.language,
        }
    text = json.dumps(enrichment)
    style = server.behaviour.answer_style
    if style == "fenced":
        return f"```json\n{json.dumps(enrichment, indent=2)}\n```"
    if style == "prose":
        return f"Sure! Here is the JSON you asked for:\n{text}\nLet me know if you need more."
    if style == "think":
        return f"<think>The user wants {{json}}. Let me read it.</think>\n{text}"
    return text


def _article_text(messages: list[dict[str, Any]]) -> str:
    """Return the article of the first user message, without its title and URL lines."""
    user = next((str(m.get("content")) for m in messages if m.get("role") == "user"), "")
    _, _, text = user.partition("\n\n")
    return text or user


def _first_sentence(text: str) -> str:
    sentence = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]
    return sentence[:300] or "An article."


def _categories(body: dict[str, Any], system: str) -> list[str]:
    """Return the categories the request offers: the schema's enum, else the prompt's."""
    schema = ((body.get("response_format") or {}).get("json_schema") or {}).get("schema") or {}
    enum = ((schema.get("properties") or {}).get("category") or {}).get("enum")
    if enum:
        return [str(name) for name in enum]
    for line in system.splitlines():
        if line.startswith('- "category"'):
            found = _QUOTED.findall(line.partition(":")[2])
            if found:
                return found
    return ["Other"]


def _tags(text: str) -> list[str]:
    """Return the four most frequent long words of ``text`` (fewer for a short text)."""
    # The start is enough, and keeps a busy benchmark's server cheap.
    counts = Counter(word.lower() for word in _WORD.findall(text[:3000]))
    return [word for word, _ in counts.most_common(4)] or ["misc"]

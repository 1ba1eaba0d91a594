"""The pipeline definition: stage order, options from settings, messages by name."""

from __future__ import annotations

import subprocess
import sys

import pytest

from shared.errors import PermanentError
from shared.feeding import item_message
from shared.items.rules import next_stage
from shared.pipeline import (
    STAGES,
    actor_options,
    get_stage,
    ordered_stages,
    stage_of_actor,
)
from shared.settings import Settings
from shared.urgency import URGENT_OPTION


def test_stages_map_to_the_fixed_queues() -> None:
    assert [(stage.name, stage.queue) for stage in STAGES] == [
        ("parse", "parsing"),
        ("enrich", "ai"),
        ("publish", "notion"),
    ]


def test_stage_names_are_ordered_and_deduplicated() -> None:
    assert ordered_stages(["publish", "parse", "parse"]) == ["parse", "publish"]
    assert next_stage(["parse", "publish"], "parse") == "publish"
    assert next_stage(["parse", "publish"], "publish") is None


def test_an_unknown_stage_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(KeyError, match="stages are parse, enrich, publish"):
        ordered_stages(["parse", "summarise"])


def test_actor_options_come_from_settings() -> None:
    settings = Settings.from_env(_env_file=None, ai_timeout=7, max_retries=5)
    options = actor_options(get_stage("enrich"), settings)
    assert options["queue_name"] == "ai"
    assert options["time_limit"] == 7000
    assert options["max_retries"] == 5
    assert options["throws"] == (PermanentError,)
    assert stage_of_actor(options["actor_name"]) == get_stage("enrich")


def test_each_stage_actor_takes_its_own_retries_or_the_shared_ones() -> None:
    settings = Settings.from_env(_env_file=None, max_retries=2, parsing_max_retries=7)
    retries = {stage.name: actor_options(stage, settings)["max_retries"] for stage in STAGES}
    assert retries == {"parse": 7, "enrich": 2, "publish": 2}


def test_a_stage_message_is_built_by_name_and_chains_nothing() -> None:
    message = item_message(get_stage("enrich"), 42)
    assert (message.queue_name, message.actor_name, message.args) == ("ai", "enrich_item", (42,))
    assert message.options == {}
    assert item_message(get_stage("parse"), 7, urgent=True).options == {URGENT_OPTION: True}


def test_importing_the_actor_modules_adds_no_middleware_to_the_broker() -> None:
    # Each service's middleware is declared in its setup callable, never added at import
    script = (
        "import dramatiq\n"
        "from shared.broker import build_broker\n"
        "from shared.settings import Settings\n"
        "broker = build_broker(Settings.from_env(_env_file=None), stub=True)\n"
        "dramatiq.set_broker(broker)\n"
        "before = [type(m).__name__ for m in broker.middleware]\n"
        "from services.cli.launch import SERVICES\n"
        "import importlib\n"
        "for _, module in SERVICES.values():\n"
        "    importlib.import_module(module)\n"
        "print([type(m).__name__ for m in broker.middleware[len(before):]])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"

"""The ai and notion services' own settings, as fields of the one ``Settings``.

The variables only the openai provider (``AI_RPM``, …) and the Notion publisher
(``NOTION_PROPERTY_NAME``, …) use, declared and checked here and mixed into
:class:`shared.settings.Settings`, which reads them with every other setting. It hands
them over as ``settings.ai`` and ``settings.notion``: the frozen dataclasses of
``shared/ai_settings.py`` and ``shared/notion_settings.py``, whose defaults these
fields take.
"""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

from shared.ai_prices import DEFAULT_PRICES, parse_prices
from shared.ai_settings import AISettings, LongText, ModeSetting, TokenizerSetting
from shared.errors import ConfigurationError
from shared.notion_settings import NotionSettings, PropertyNames, notion_id

#: The fields of the Notion property names, ``notion_property_name`` (the page's title)
#: to ``notion_property_published``, in the order of :class:`PropertyNames`' roles.
PROPERTY_FIELDS = tuple(PropertyNames.variable(role.name).lower() for role in fields(PropertyNames))

#: The fields whose blank value (an env file's ``AI_RPM=`` line) means their default.
BLANK_IS_DEFAULT = (
    "ai_rpm",
    "ai_tpm",
    "ai_output_language",
    "ai_structured_mode",
    "ai_context_tokens",
    "ai_max_article_tokens",
    "ai_max_completion_tokens",
    "ai_long_text",
    "ai_map_max_parts",
    "ai_request_retries",
    "ai_request_timeout",
    "ai_max_inline_wait",
    "ai_tokenizer",
    "ai_temperature",
    "notion_data_source_id",
    "notion_request_timeout",
    "notion_create_settle",
    "notion_workspace_rate_limit",
)


class ServiceSettings(BaseModel):
    """The ``AI_*`` and the Notion publisher's own fields of the one ``Settings``."""

    #: The openai provider's own settings, handed to it as ``settings.ai``; their
    #: defaults are :class:`~shared.ai_settings.AISettings`' own.
    ai_rpm: int = Field(AISettings.rpm, ge=0)
    ai_tpm: int = Field(AISettings.tpm, ge=0)
    #: ``model=prompt/completion`` dollars per million tokens, over the built-in prices.
    ai_prices: str = ""
    ai_rules: str = AISettings.rules
    ai_output_language: str = AISettings.output_language
    ai_structured_mode: ModeSetting = AISettings.structured_mode
    ai_context_tokens: int | None = Field(AISettings.context_tokens, ge=512)
    ai_max_article_tokens: int = Field(AISettings.max_article_tokens, ge=200)
    ai_max_completion_tokens: int | None = Field(AISettings.max_completion_tokens, ge=64)
    ai_long_text: LongText = AISettings.long_text
    ai_map_max_parts: int = Field(AISettings.map_max_parts, ge=2)
    ai_request_retries: int = Field(AISettings.request_retries, ge=0)
    ai_request_timeout: float | None = Field(AISettings.request_timeout, ge=0.1)
    ai_max_inline_wait: float = Field(AISettings.max_inline_wait, ge=0)
    ai_tokenizer: TokenizerSetting = AISettings.tokenizer
    ai_temperature: float | None = Field(AISettings.temperature, ge=0, le=2)

    #: The Notion publisher's own settings, handed to it with NOTION_TOKEN and the other
    #: shared ones as ``settings.notion``; their defaults are NotionSettings' and
    #: PropertyNames' own.
    notion_data_source_id: str | None = NotionSettings.data_source_id
    notion_request_timeout: float = Field(NotionSettings.request_timeout, gt=0)
    notion_create_settle: float = Field(NotionSettings.create_settle, ge=0)
    #: Requests per second of the workspace's budget; unset: NOTION_RATE_LIMIT's.
    notion_workspace_rate_limit: float | None = Field(NotionSettings.workspace_rate_limit, gt=0)
    notion_property_name: str = PropertyNames.title
    notion_property_url: str = PropertyNames.url
    notion_property_tags: str = PropertyNames.tags
    notion_property_category: str = PropertyNames.category
    notion_property_sentiment: str = PropertyNames.sentiment
    notion_property_summary: str = PropertyNames.summary
    notion_property_author: str = PropertyNames.author
    notion_property_published: str = PropertyNames.published

    if TYPE_CHECKING:
        # Fields of Settings the Notion publisher takes too (declared there, in its order).
        redis_url: str
        notion_token: SecretStr | None
        notion_database_id: str | None
        notion_base_url: str
        notion_rate_limit: float
        notion_timeout: float

    @field_validator("ai_prices", "ai_rules", "ai_output_language", *PROPERTY_FIELDS, mode="before")
    @classmethod
    def _stripped(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("ai_structured_mode", "ai_long_text", "ai_tokenizer", mode="before")
    @classmethod
    def _choice_name(cls, value: Any) -> Any:
        # Any case, and `-` for `_`: AI_LONG_TEXT=Map-Reduce is map_reduce.
        if isinstance(value, str):
            return value.strip().lower().replace("-", "_")
        return value

    @field_validator("ai_prices")
    @classmethod
    def _valid_prices(cls, value: str) -> str:
        parse_prices(value)
        return value

    @field_validator("notion_data_source_id")
    @classmethod
    def _notion_id(cls, value: str | None) -> str | None:
        return None if value is None else notion_id(value)

    @field_validator(*PROPERTY_FIELDS)
    @classmethod
    def _property_name(cls, value: str) -> str:
        if not value:
            raise ValueError("is empty: give the name of a database property")
        return value

    @model_validator(mode="after")
    def _distinct_properties(self) -> ServiceSettings:
        variables: dict[str, list[str]] = {}
        for field_name in PROPERTY_FIELDS:
            variables.setdefault(getattr(self, field_name), []).append(field_name.upper())
        for name, sharing in variables.items():
            if len(sharing) > 1:
                raise ValueError(
                    f"{' and '.join(sharing)} all name the property {name!r}: each field "
                    "needs its own"
                )
        return self

    @property
    def ai(self) -> AISettings:
        """Return the openai provider's settings, the ``AI_*`` variables."""
        return AISettings(
            rpm=self.ai_rpm,
            tpm=self.ai_tpm,
            prices={**DEFAULT_PRICES, **parse_prices(self.ai_prices)},
            rules=self.ai_rules,
            output_language=self.ai_output_language,
            structured_mode=self.ai_structured_mode,
            context_tokens=self.ai_context_tokens,
            max_article_tokens=self.ai_max_article_tokens,
            max_completion_tokens=self.ai_max_completion_tokens,
            long_text=self.ai_long_text,
            map_max_parts=self.ai_map_max_parts,
            request_retries=self.ai_request_retries,
            request_timeout=self.ai_request_timeout,
            max_inline_wait=self.ai_max_inline_wait,
            tokenizer=self.ai_tokenizer,
            temperature=self.ai_temperature,
        )

    @property
    def notion(self) -> NotionSettings:
        """Return the Notion publisher's settings.

        Raise :class:`ConfigurationError` when ``NOTION_TOKEN`` or ``NOTION_DATABASE_ID``
        is unset or invalid: only the Notion publisher needs them, so they are checked
        when it is built, and the other processes run without them.
        """
        token = self.notion_token.get_secret_value().strip() if self.notion_token else ""
        if not token:
            raise ConfigurationError(
                "NOTION_TOKEN is not set: create an internal integration at "
                "https://www.notion.so/profile/integrations and set NOTION_TOKEN to its secret"
            )
        database = (self.notion_database_id or "").strip()
        if not database:
            raise ConfigurationError(
                "NOTION_DATABASE_ID is not set: set it to the id of the database to publish "
                "into (32 hexadecimal digits, as in its URL) or to the database's URL"
            )
        try:
            database_id = notion_id(database)
        except ValueError as ex:
            raise ConfigurationError(
                f"NOTION_DATABASE_ID {ex} (got {self.notion_database_id!r})"
            ) from None
        return NotionSettings(
            token=token,
            database_id=database_id,
            base_url=self.notion_base_url.rstrip("/"),
            redis_url=self.redis_url,
            rate_limit=self.notion_rate_limit,
            stage_timeout=self.notion_timeout,
            properties=self._property_names(),
            data_source_id=self.notion_data_source_id,
            request_timeout=self.notion_request_timeout,
            create_settle=self.notion_create_settle,
            workspace_rate_limit=self.notion_workspace_rate_limit,
        )

    def _property_names(self) -> PropertyNames:
        """Return the database property of each field of a page."""
        return PropertyNames(
            **{
                role.name: getattr(self, field_name)
                for role, field_name in zip(fields(PropertyNames), PROPERTY_FIELDS, strict=True)
            }
        )

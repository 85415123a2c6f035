"""Reader errors as data: an English message template with named placeholders, and its values.

The domain speaks no language but English; `str(error)` is the English sentence (command line,
logs, check-config). The render layer looks the template up in the reader's language
(`bot.render.common.reader_error`). `N_` marks a template for the catalog
(`python -m bot.render.catalog` extracts it from here as from `bot/render`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


def N_(message: str) -> str:
    """Mark a message template for the catalog; it is translated where it is shown."""
    return message


class ReaderError(ValueError):
    """Input a reader refused; `template` (marked with `N_`) and `params` say why.

    A parameter may itself be a ReaderError (a refusal quoted inside another): it is worded
    in the same language as the message around it.
    """

    def __init__(self, template: str, /, **params: object) -> None:
        super().__init__(template.format(**params))
        self.template = template
        self.params = params

    @classmethod
    def quoting(cls, error: ReaderError) -> ReaderError:
        """The same refusal, raised as this class (a reader passing on another's)."""
        return cls(error.template, **error.params)


@dataclass(frozen=True)
class DateText:
    """A date quoted in a reader error: `pattern` (CLDR, e.g. "d MMMM y" or "EEEE" for the
    weekday) words it; `str()` is the English wording, the render layer the reader's."""

    day: date
    pattern: str

    def __str__(self) -> str:
        return self.worded("en")

    def worded(self, locale: str) -> str:
        """The date in `locale` ("en", "de"), laid out by `pattern`."""
        # Imported here: a check worker imports this module (URL refusals) but words no date,
        # and babel costs it 3 MB.
        from babel.dates import format_date

        return format_date(self.day, self.pattern, locale=locale)

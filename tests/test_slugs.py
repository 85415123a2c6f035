"""Readable ids for deadlines and topics: one way to make them, one way to keep them unique."""

from __future__ import annotations

import pytest

from bot.domain.slugs import first_free, slug_words, slugify
from bot.services.news import topic_slug_base
from bot.services.proposals import deadline_slug


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("UK–US trade deal!", "uk-us-trade-deal"),
        ("Café  tariffs_2026", "cafe-tariffs-2026"),
        ("a" * 60, "a" * 48),
        ("x" * 47 + " yz", "x" * 47),  # cut at 48 characters, never ending in a dash
    ],
)
def test_a_deadline_slug_is_the_titles_ascii_words_dashed_within_48_characters(
    title: str, slug: str
) -> None:
    assert deadline_slug(title) == slug


@pytest.mark.parametrize("title", ["—", "中国"])
def test_a_title_without_ascii_letters_or_digits_gets_the_slug_deadline(title: str) -> None:
    assert deadline_slug(title) == "deadline"


@pytest.mark.parametrize(
    ("query", "slug"),
    [
        ('"rare earth" export -opinion', "rare-earth-export"),
        (
            'chips OR semiconductors site:reuters.com -"stock tips"',
            "chips-semiconductors-reuters-com",
        ),
        ("EU–China", "eu-china"),
    ],
)
def test_a_topic_slug_keeps_the_words_sought_and_drops_exclusions_and_operators(
    query: str, slug: str
) -> None:
    assert topic_slug_base(query) == slug


def test_a_query_of_only_exclusions_gets_the_slug_topic() -> None:
    assert topic_slug_base("-only -excluded") == "topic"


def test_slug_words_split_on_every_dash_and_drop_what_is_not_ascii() -> None:
    assert slug_words("Rare-earth—export ‒ curbs, naïve") == [
        "rare",
        "earth",
        "export",
        "curbs",
        "naive",
    ]


def test_slugify_falls_back_when_nothing_is_left() -> None:
    assert slugify([], max_chars=10, fallback="topic") == "topic"
    assert slugify(["ab", "cd"], max_chars=3, fallback="x") == "ab"


def test_first_free_counts_up_from_two() -> None:
    assert first_free("tariffs", set()) == "tariffs"
    assert first_free("tariffs", {"tariffs"}) == "tariffs-2"
    assert first_free("tariffs", {"tariffs", "tariffs-2", "tariffs-3"}) == "tariffs-4"

"""Splitting Telegram HTML into parts that fit, and the plain-text fallback."""

from __future__ import annotations

import random
import re

import pytest

from bot.delivery_policy.split import (
    _fit,
    html_to_plain,
    split_message,
    split_plain,
    telegram_length,
    tokenize,
)

_OPEN_RE = re.compile(r"<([a-z-]+)[^>]*>")
_CLOSE_RE = re.compile(r"</([a-z-]+)>")


def _balanced(part: str) -> bool:
    stack: list[str] = []
    for match in re.finditer(r"<(/?)([a-z-]+)[^>]*>", part):
        if match.group(1):
            if not stack or stack.pop() != match.group(2):
                return False
        else:
            stack.append(match.group(2))
    return not stack


@pytest.mark.parametrize(
    ("html_text", "expected"),
    [
        ("", 0),
        ("plain", 5),
        ("<b>bold</b> &amp; <i>it</i>", 9),
        ("&lt;&gt;&amp;&quot;", 4),
        ("😀", 2),
        ("&#128512;&#x1F600;", 4),
        ("日本語", 3),
        ('<a href="https://example.org/a?b=1&amp;c=2">link</a>', 4),
        ("&nbsp;", 6),  # Telegram has no &nbsp;: literal text
        ("a < b", 5),
    ],
)
def test_telegram_length_counts_utf16_units_of_visible_text_with_entities_decoded(
    html_text: str, expected: int
) -> None:
    assert telegram_length(html_text) == expected


def test_short_message_is_returned_unchanged() -> None:
    text = "<b>Tariffs</b>\nline two"
    assert split_message(text, 100) == [text]


def test_splits_on_line_boundaries() -> None:
    text = "aaaa\nbbbb\ncccc\ndddd"
    assert split_message(text, 10) == ["aaaa\nbbbb", "cccc\ndddd"]


def test_falls_back_to_spaces_then_hard_cut() -> None:
    assert split_message("aaa bbb ccc ddd", 8) == ["aaa bbb", "ccc ddd"]
    assert split_message("abcdefghij", 4) == ["abcd", "efgh", "ij"]


def test_nested_tags_are_closed_and_reopened() -> None:
    text = '<b>bold <a href="https://x.org/">link text here</a> tail</b>'
    parts = split_message(text, 12)
    assert parts == [
        '<b>bold <a href="https://x.org/">link</a></b>',
        '<b><a href="https://x.org/">text here</a></b>',
        "<b>tail</b>",
    ]
    assert all(_balanced(part) for part in parts)


def test_entities_are_never_cut() -> None:
    text = "ab&amp;&lt;cd"
    parts = split_message(text, 3)
    assert parts == ["ab&amp;", "&lt;cd"]
    assert [telegram_length(p) for p in parts] == [3, 3]


def test_emoji_is_never_cut_in_half() -> None:
    text = "a" + "😀" * 3
    parts = split_message(text, 4)
    assert parts == ["a😀", "😀😀"]
    assert max(telegram_length(p) for p in parts) <= 4


def test_a_cjk_line_without_breaks_is_hard_cut_at_the_limit_losing_nothing() -> None:
    text = "貿易" * 3000  # 6000 characters, no spaces or line breaks
    parts = split_message(text)
    assert [telegram_length(p) for p in parts] == [4096, 1904]
    assert "".join(parts) == text


def test_long_message_with_emoji_fits_every_part() -> None:
    line = "🇺🇸 US–China talks &amp; <b>rare earths</b> — <i>update</i> 😀\n"
    text = line * 400
    parts = split_message(text)
    assert all(telegram_length(p) <= 4096 for p in parts)
    assert all(_balanced(p) for p in parts)
    # Every cut fell on a line break.
    assert all(p.rstrip("\n").endswith("</i> 😀") for p in parts)
    assert [telegram_length(p) for p in parts] == [4093, 4093, 4093, 4093, 2024]
    plain = "\n".join(html_to_plain(p) for p in parts)
    assert plain == html_to_plain(text)


def test_pre_block_split_keeps_language_class() -> None:
    code = "\n".join(f"x{i} = {i}" for i in range(10))
    text = f'<pre><code class="language-python">{code}</code></pre>'
    parts = split_message(text, 30)
    assert parts[0].startswith('<pre><code class="language-python">x0 = 0\n')
    assert parts[1].startswith('<pre><code class="language-python">x')
    assert all(p.endswith("</code></pre>") for p in parts)
    assert all(telegram_length(p) <= 30 for p in parts)


def test_tag_opened_at_hard_cut_moves_to_next_part() -> None:
    assert split_message("abc<b>def</b>", 3) == ["abc", "<b>def</b>"]


def test_blank_line_separators_do_not_make_empty_parts() -> None:
    assert split_message("aaaa\n\n\n\nbbbb", 5) == ["aaaa", "bbbb"]


def test_spoiler_span_is_reopened_with_its_class() -> None:
    text = '<span class="tg-spoiler">secret word</span>'
    assert split_message(text, 7) == [
        '<span class="tg-spoiler">secret</span>',
        '<span class="tg-spoiler">word</span>',
    ]


def test_tag_attribute_with_angle_bracket_is_one_atom() -> None:
    atoms = tokenize('<a href="https://x.org/?q=a>b">x</a>')
    assert [a.kind.value for a in atoms] == ["open", "text", "close"]


def test_rejects_a_limit_too_small_for_one_character() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        split_message("abc", 1)


def test_plain_text_drops_tags_decodes_entities_and_adds_each_links_address() -> None:
    text = (
        "<b>Deadline</b> &lt;9 July&gt; &amp; more: "
        '<a href="https://gov.uk/a?x=1&amp;y=2">the notice</a>, '
        '<a href="https://example.org">https://example.org</a> &#128512;'
    )
    assert html_to_plain(text) == (
        "Deadline <9 July> & more: the notice (https://gov.uk/a?x=1&y=2), https://example.org 😀"
    )


def test_split_plain_keeps_angle_brackets_as_text() -> None:
    assert split_plain("a <b> c & d", 6) == ["a <b>", "c & d"]


def _visible(html_text: str) -> str:
    return "".join(atom.text for atom in tokenize(html_text))


def _random_html(rng: random.Random) -> str:
    pieces = ["word", "trade", "関税", "😀", "🇬🇧", "&amp;", "&lt;", "&#128200;", " ", " ", "\n"]
    pieces += ["&", "&nbsp;", "e\u0301", "👨\u200d👩\u200d👧", "x" * 50]
    tags = ["b", "i", "u", "s", "code", "tg-spoiler"]
    out: list[str] = []
    open_tags: list[str] = []
    for _ in range(rng.randint(1, 400)):
        roll = rng.random()
        if roll < 0.08 and len(open_tags) < 3:
            tag = rng.choice(tags)
            open_tags.append(tag)
            out.append(f"<{tag}>")
        elif roll < 0.14 and open_tags:
            out.append(f"</{open_tags.pop()}>")
        elif roll < 0.16:
            out.append('<a href="https://example.org/?a=1&amp;b=2">')
            open_tags.append("a")
        else:
            out.append(rng.choice(pieces))
    out.extend(f"</{tag}>" for tag in reversed(open_tags))
    return "".join(out)


@pytest.mark.parametrize("seed", range(40))
def test_random_messages_split_losslessly(seed: int) -> None:
    rng = random.Random(seed)
    text = _random_html(rng)
    limit = rng.randint(2, 120)
    parts = split_message(text, limit)
    assert telegram_length(text) == sum(atom.size for atom in tokenize(text))
    assert all(telegram_length(p) <= limit for p in parts)
    assert all(_balanced(p) for p in parts)
    visible = "".join(_visible(p) for p in parts)
    # Only the whitespace at the cuts may go.
    assert "".join(visible.split()) == "".join(_visible(text).split())


def test_hard_cut_keeps_emoji_sequences_and_flags_whole() -> None:
    family = "👨\u200d👩\u200d👧"  # one visible emoji, 8 UTF-16 units
    assert split_message("ab" + family, 8) == ["ab", family]
    assert split_message("a🇬🇧🇺🇸", 6) == ["a🇬🇧", "🇺🇸"]
    assert split_message("cafe\u0301s", 4) == ["caf", "e\u0301s"]


def test_a_grapheme_longer_than_the_limit_is_cut_between_code_points() -> None:
    family = "👨\u200d👩\u200d👧"
    parts = split_message(family, 4)
    assert parts == ["👨\u200d", "👩\u200d", "👧"]
    assert "".join(parts) == family


# Entity bounds and grapheme cuts pinned by mutation testing (docs/quality.md).


@pytest.mark.parametrize(
    ("entity", "plain"),
    [
        ("&#x41;", "A"),  # hexadecimal is base 16
        ("&#0;", "&#0;"),  # not a character: kept as written
        ("&#1;", "\x01"),
        ("&#1114111;", "\U0010ffff"),  # the last code point
        ("&#1114112;", "&#1114112;"),
        ("&#55295;", "\ud7ff"),
        ("&#55296;", "&#55296;"),  # surrogates, first to last, are not characters
        ("&#55297;", "&#55297;"),
        ("&#57343;", "&#57343;"),
        ("&#57344;", "\ue000"),
    ],
)
def test_numeric_entities_decode_only_to_real_characters(entity: str, plain: str) -> None:
    assert html_to_plain(entity) == plain


@pytest.mark.parametrize(
    ("text", "budget", "fitted"),
    [
        ("a\u2764\ufe0fb", 2, 1),  # the emoji presentation selector stays with its heart
        ("a\u2764\ufe0eb", 2, 1),  # so does the text presentation selector
        ("a\U0001f44d\U0001f3fd", 3, 1),  # a skin tone stays with its thumb
        ("a\U0001f3f4\U000e0067", 3, 1),  # a tag stays with its flag
        ("a\U0001f1eb\U0001f1f7\U0001f1e9\U0001f1ea", 3, 1),  # not inside the French flag
        ("a\U0001f1eb\U0001f1f7\U0001f1e9\U0001f1ea", 5, 3),  # between two flags is fine
        ("a\U0001f1eb\U0001f1f7\U0001f1e9\U0001f1ea", 7, 3),  # not inside the German flag
        ("\U0001f1eb\U0001f1f7\U0001f1e9\U0001f1ea", 2, 0),  # a flag at the very start
        ("\U0001f1eb\U0001f1f7\U0001f1e9\U0001f1ea", 6, 2),
    ],
)
def test_a_cut_never_splits_one_visible_character(text: str, budget: int, fitted: int) -> None:
    assert _fit(text, budget, must_take=False) == fitted


@pytest.mark.parametrize(
    ("text", "budget", "fitted"),
    [
        ("\uffffb", 1, 1),  # U+FFFF is one UTF-16 unit
        ("\U00010000b", 1, 0),  # U+10000 is two
        ("\u0301a", 0, 0),  # nothing fits: nothing taken, whatever the first character is
        ("ab", 5, 2),  # everything fits
        ("\U0001f1eb\U0001f1f7x\U0001f1e9", 2, 0),  # the count of indicators stops at the start
    ],
)
def test_fit_counts_utf16_units_and_stays_inside_the_text(
    text: str, budget: int, fitted: int
) -> None:
    assert _fit(text, budget, must_take=False) == fitted


def test_a_tag_closed_out_of_order_is_not_reopened_in_the_next_part() -> None:
    parts = split_message("<b><i>" + "a" * 30 + "</b> " + "b" * 30, limit=40)
    assert parts == ["<b><i>" + "a" * 30 + "</b>", "b" * 30]


def test_a_stray_closing_tag_before_a_cut_closes_nothing() -> None:
    parts = split_message("</b>" + "a" * 30 + " " + "b" * 30, limit=40)
    assert [html_to_plain(part) for part in parts] == ["a" * 30, "b" * 30]


@pytest.mark.parametrize(
    ("html_text", "plain"),
    [
        ('<a href="https://x.org"></a>', "https://x.org"),
        ('<a href="https://x.org"> <b> </b></a>', "  https://x.org"),
    ],
)
def test_a_link_without_visible_text_becomes_its_address(html_text: str, plain: str) -> None:
    assert html_to_plain(html_text) == plain


def test_a_length_is_a_whole_number_of_utf16_units() -> None:
    assert type(telegram_length("a😀&amp;")) is int


def test_a_tab_is_a_break_like_a_space() -> None:
    assert split_message("aaa\tbbb", 4) == ["aaa", "bbb"]


def test_a_part_with_only_invisible_text_is_left_out() -> None:
    assert split_message("aaaa\n&#160;\nbbbb", 4) == ["aaaa", "bbbb"]


def test_the_smallest_limit_holds_one_astral_character_per_part() -> None:
    assert split_message("😀😀", 2) == ["😀", "😀"]


def test_a_message_exactly_at_the_limit_is_returned_unchanged() -> None:
    assert split_message("\nabc", 4) == ["\nabc"]


def test_a_part_that_must_take_something_still_keeps_an_accent_with_its_letter() -> None:
    assert _fit("ae\u0301x", 2, must_take=True) == 1


@pytest.mark.parametrize("html_text", ["<a>text</a>", '<a href="">text</a>'])
def test_a_link_without_an_address_keeps_only_its_text(html_text: str) -> None:
    assert html_to_plain(html_text) == "text"


def test_a_space_that_starts_a_part_is_kept_as_text_not_taken_as_a_break() -> None:
    assert split_message("aaaa bbbbbbbb", 4) == ["aaaa", " bbb", "bbbb", "b"]


def test_line_breaks_past_the_limit_at_the_end_make_no_part() -> None:
    assert split_message("aaaa\n\n", 4) == ["aaaa"]

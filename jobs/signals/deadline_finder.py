"""Find future deadlines and moved dates in news prose, relative to the item's publication date.

A date counts when it lies strictly after the publication date and the words around it do not
put it in the past ("talks were held on 12 May", "said on Tuesday", "since 2 April"). Durations
("a 90-day pause") and figures ("$9 billion", "74%") never form a date. Year-less and relative
dates ("next Tuesday", "within 30 days", "by the end of the month") resolve against the
publication date, never against today. "Extended to November 10" gives a `moved` proposal.
"""

from __future__ import annotations

import calendar
import itertools
import re
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Literal

from syntok import segmenter


def _wordset_list(*chunks: str) -> list[str]:
    return " ".join(chunks).split()


def _wordset(*chunks: str) -> frozenset[str]:
    return frozenset(_wordset_list(*chunks))


# Word lists are lower-case; the cue nearest the date decides its tense (see _left_is_past).
FUTURE_CUES = _wordset(
    "will would 'll shall from until till by before effective starting through due set scheduled"
    " expected planned deadline expires expire expiry ends runs resume resumes begin begins start"
    " starts continue continues apply applies face faces must"
)
PAST_CUES = _wordset(
    "was were had held signed ended began begun took came passed expired met spoke struck"
    " announced issued imposed agreed reached raised doubled rallied unveiled filed fell rose went"
    " added rescinded cancelled canceled published released launched opened closed concluded"
    " accused last ago since earlier yesterday sent"
)
# Words ending in "-ed" that do not make a sentence past: "expected to meet on Monday".
NOT_PAST_ED_WORDS = _wordset(
    "expected scheduled planned proposed set due based related united need speed feed bed"
)
# Read as past only right after the date: "The OECD on Tuesday cut its forecast".
PAST_RIGHT_CUES = frozenset({"cut", "put", "hit", "told", "said", "wrote"})
# "said on Tuesday" dates the saying; "said the August 1 date was firm" does not.
REPORTING_VERBS = frozenset({"said", "told", "wrote", "added", "posted", "confirmed", "reported"})
MOVE_VERB_RE = re.compile(
    r"\b(?:extend\w*|postpon\w*|delay\w*|push(?:es|ed|ing)?\b.*\bback|moved?|moves|defer\w*"
    r"|brought\s+forward|rescheduled)\b"
)
GENERIC_WHAT_WORDS = frozenset({"deadline", "set", "date", "expiry", "looming", "the", "a"})
WHAT_TRAILING_WORDS = _wordset(
    "on from by until till before for at to through effective starting in of am a.m pm p.m edt"
    " est et gmt bst cet utc"
)
WHAT_LEADING_WORDS = _wordset("and but or that if of on in for to by from which who")
WHAT_DROP_WORDS = _wordset(
    "the a an its their his her will would could should shall is are be being been due set to"
    " expected scheduled planned which that who also now"
)

# Where a noun phrase ends: prepositions, and verbs that follow a subject.
NP_STOP_WORDS = _wordset(
    "by to until till from for on in at before after with as over under into amid than"
    " is are was were will would must has have had be being been expires expire ends end runs"
    " run takes take falls fall begins begin starts start resumes resume opens open closes close"
    " comes come due set scheduled expected planned goes go meets meet votes vote applies apply"
    " lapses lapse enters enter kicks kick faces face which that who"
)
PRONOUNS = _wordset("it they this these those he she we i you its which that")
# Words that end a clause's subject: its first verb.
SUBJECT_END_WORDS = (NP_STOP_WORDS - _wordset("to in for at on by with from as")) | _wordset(
    "could should may might can hope hopes aim aims plans publish publishes release releases"
    " host hosts hold holds impose imposes propose proposes suspend suspends issue issues hear"
    " hears close reach reaches charging charge sign signs"
)
# Before the main verb: "will", "is expected to", "hopes to".
AUXILIARY_WORDS = _wordset(
    "will would could should must shall may might can is are was were be been being expected"
    " due set to also now then hope hopes aim aims plans plan begin begins start starts"
)
# Main verbs whose date is the subject's own event ("Talks resume", "The pause ends").
INTRANSITIVE_WORDS = _wordset(
    "expires expire ends end runs run takes take falls fall begins begin starts start"
    " opens open closes comes come goes go meets meet votes vote applies apply lapses"
    " lapse enters enter kicks kick continue continues respond responds act acts fly flies"
    " travel travels arrive arrives last lasts"
)
PREPOSITIONS = _wordset("by to until till from for on in at before after with as over into of")
PARTICLES = _wordset("back forward again off up out down place effect force")
MOVE_OBJECT_RE = re.compile(
    r"\b(?:extend(?:s|ed|ing)?|postpon(?:es|ed|ing|e)|delay(?:s|ed|ing)?|push(?:es|ed|ing)?"
    r"|mov(?:es|ed|ing|e)|defer(?:s|red|ring)?|reschedul(?:es|ed|ing|e))\b"
)
UNTIL_TO_RE = re.compile(
    r"\b(?:has|have|had|given|gets|get|gave|give|gives)\b(?:\s+[\w'’-]+){0,3}?\s+(?:until|till)\s*$"
)
# Prepositions that attach a phrase to the noun before them, unless a date follows.
NP_ATTACHED = frozenset({"on", "to", "for"})
_DATE_START_RE = re.compile(
    r"(?:\d|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|mon|tue|wed|thu|fri|sat|sun"
    r"|tomorrow|next|this|end\b|within)"
)

Kind = Literal["deadline", "moved"]

MAX_TEXT_CHARS = 100_000
LEFT_WINDOW_WORDS = 9
# "extended its suspension of the 24% tariff until 10 November": the verb can sit far back.
MOVE_WINDOW_WORDS = 12
RIGHT_WINDOW_WORDS = 3
WHAT_MAX_WORDS = 8
# A year-less date this many days before publication is read as next year's ("on 1 January"
# written on 19 December); closer ones are simply past.
YEAR_ROLLOVER_DAYS = 183

_MONTH_NAMES = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
_MONTH_NAMES |= {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}
_MONTH_NAMES["sept"] = 9
_MONTH = (
    r"(?P<m>Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_DAY = r"(?P<d>\d{1,2})(?:st|nd|rd|th)?(?![\d%]|\.\d|,\d)"
_RANGE_TAIL = r"(?:\s*(?:–|-|to|and)\s*\d{1,2}(?:st|nd|rd|th)?)?"
_YEAR = r"(?:,?\s+(?P<y>(?:19|20)\d\d)\b)?"
_DATE_RES = (
    re.compile(rf"\b{_DAY}{_RANGE_TAIL}\s+(?:of\s+)?{_MONTH}(?!\w){_YEAR}"),
    re.compile(rf"\b{_MONTH}\s+{_DAY}\b(?:\s*(?:–|-|and)\s*\d{{1,2}}\b)?{_YEAR}"),
    re.compile(r"\b(?P<y>20\d\d)-(?P<mm>[01]\d)-(?P<d>[0-3]\d)\b"),
)
_WEEKDAYS = [d.lower() for d in calendar.day_name]
_WEEKDAY_RE = re.compile(
    r"(?<![Aa]n\s)(?<![Aa]\s)(?<![Aa]ny\s)(?<![Ee]very\s)(?<![Rr]andom\s)"
    r"\b(?:(?P<mod>[Nn]ext|[Tt]his|[Ll]ast|[Cc]oming)\s+)?"
    r"(?P<wd>Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|[Tt]omorrow)\b"
)
_NUMBER_WORDS = {
    w: n
    for n, w in enumerate(_wordset_list("zero one two three four five six seven eight nine ten"))
} | {"eleven": 11, "twelve": 12, "fourteen": 14, "thirty": 30, "sixty": 60, "ninety": 90}
_RELATIVE_RE = re.compile(
    r"\b(?:within|in)\s+(?:the\s+next\s+)?(?P<n>\d{1,3}|[a-z]+)\s+(?P<unit>days?|weeks?)\b(?!\s+of)"
)
_END_OF_RE = re.compile(
    rf"\b(?:by|at|before|until)\s+(?:the\s+)?end\s+of\s+(?:(?:the|this)\s+(?P<unit>month|year)\b|{_MONTH}(?!\w))"
)
_TIME_RE = re.compile(
    r"\b(?P<h>\d{1,2})(?::(?P<mi>\d{2}))?\s*(?P<ap>[ap])\.?\s?m\b\.?"
    r"|\b(?P<h24>[01]?\d|2[0-3]):(?P<m24>[0-5]\d)\b(?!\s*%)"
)
_PLAIN_SPLIT_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“‘'(])")
# A stop inside a word ("U.S.", "p.m.") or after a word of at most four letters ("Sept.",
# "Inc.", "Mr."): only then can a full stop followed by a capital be something else.
_MAYBE_ABBREVIATION_RE = re.compile(r"\w\.\w|(?<![\w.])[A-Za-z]{1,4}\.\s")
_WORD_RE = re.compile(r"[\w'’$%.:–-]+")
_RANGE_JOIN_RE = re.compile(r"\s*(?:and|to|–|-|until|through)\s*")
_RATHER_THAN_RE = re.compile(r"\s*,?\s*rather\s+than\s*$")
_REPORTED_RE = re.compile(r"\b(?:said|says|told|wrote)\b(?:\s+(?:that|on\s+\w+))?")
_SUBJECT_CLAUSE_RE = re.compile(
    r"[,;(—]|:(?!\d)|\b(?:with|when|while|saying|as|before|after|unless|if|once|because)\b"
)
_CLAUSE_SPLIT_RE = re.compile(r"[,;(—]|:(?!\d)|\b(?:with|when|while|saying|as)\b")
_HEAD_NOUN_RE = re.compile(
    r"((?:[\w–-]+\s+){0,2}(?:deal|truce|pause|talks|agreement|tariffs?|controls|rules|suspension))\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class FoundDeadline:
    """A proposed deadline (or a moved one) found in a sentence."""

    date: date
    time: time | None
    sentence: str
    what: str
    kind: Kind


@dataclass(frozen=True)
class _Mention:
    start: int
    end: int
    day: date | None  # None for a weekday, resolved once its tense is known
    weekday: int | None = None
    forced_past: bool = False  # "last Friday"


def find_deadlines(text: str, *, published: date) -> list[FoundDeadline]:
    """Every future date in `text` that reads as a deadline or a moved deadline, in text order."""
    found: list[FoundDeadline] = []
    for sentence in split_sentences(text[:MAX_TEXT_CHARS]):
        found.extend(_sentence_deadlines(sentence, published))
    return found


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`, as written: each line apart, then syntok's segmenter, which
    knows abbreviations ("5 p.m. ET", "U.S. and", "Sept. 3"; bench/bench_sentences.py). A
    line with no full stop after a short word or inside one cannot hold an abbreviation, and
    is split by the plain rule, about 40 times faster."""
    sentences: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if not _MAYBE_ABBREVIATION_RE.search(line):
            sentences += [s.strip() for s in _PLAIN_SPLIT_RE.split(line) if s.strip()]
            continue
        for paragraph in segmenter.analyze(line):
            for tokens in paragraph:
                if tokens:
                    start, last = tokens[0].offset, tokens[-1]
                    sentence = line[start : last.offset + len(last.value)].strip()
                    if sentence:
                        sentences.append(sentence)
    return sentences


def _sentence_deadlines(sentence: str, published: date) -> list[FoundDeadline]:
    mentions = _mentions(sentence, published)
    kinds = [_classify(sentence, mentions, i) for i in range(len(mentions))]
    found: list[FoundDeadline] = []
    seen: set[tuple[date, str]] = set()
    for i, (mention, kind) in enumerate(zip(mentions, kinds, strict=True)):
        if kind == "past" or (
            i > 0 and _is_old_date(sentence, mentions[i - 1], mention, kinds[i - 1])
        ):
            continue
        day = _resolve(mention, published)
        if day is None or day <= published or (day, kind) in seen:
            continue
        seen.add((day, kind))
        what = _what(sentence, mention, mentions[i - 1].end if i else 0)
        found.append(
            FoundDeadline(day, None, sentence, what, "moved" if kind == "moved" else "deadline")
        )
    return _attach_time(sentence, found)


def _mentions(sentence: str, published: date) -> list[_Mention]:
    spans: list[_Mention] = []
    for pattern in _DATE_RES:
        for m in pattern.finditer(sentence):
            day = _absolute_date(m, published)
            if day is not None:
                spans.append(_Mention(m.start(), m.end(), day))
    for m in _WEEKDAY_RE.finditer(sentence):
        mod = (m["mod"] or "").lower()
        if m["wd"].lower() == "tomorrow":
            spans.append(_Mention(m.start(), m.end(), published + timedelta(days=1)))
        else:
            wd = _WEEKDAYS.index(m["wd"].lower())
            spans.append(_Mention(m.start(), m.end(), None, wd, forced_past=mod == "last"))
    for m in _RELATIVE_RE.finditer(sentence):
        n = int(m["n"]) if m["n"].isdigit() else _NUMBER_WORDS.get(m["n"])
        if n is not None:
            days = n * (7 if m["unit"].startswith("week") else 1)
            spans.append(_Mention(m.start(), m.end(), published + timedelta(days=days)))
    for m in _END_OF_RE.finditer(sentence):
        spans.append(_Mention(m.start(), m.end(), _end_of(m, published)))
    return _drop_overlaps_and_range_ends(sentence, spans)


def _drop_overlaps_and_range_ends(sentence: str, spans: list[_Mention]) -> list[_Mention]:
    # Longest span wins an overlap; "Tuesday, August 12" keeps only the explicit date, and the
    # second half of "Saturday and Sunday" or "31 August and 1 September" is a range end.
    spans.sort(key=lambda s: (s.start, -(s.end - s.start)))
    kept: list[_Mention] = []
    for span in spans:
        if kept and span.start < kept[-1].end:
            continue
        if kept:
            gap = sentence[kept[-1].end : span.start]
            if (
                kept[-1].weekday is not None
                and span.weekday is None
                and re.fullmatch(r",?\s*", gap)
            ):
                kept[-1] = _Mention(kept[-1].start, span.end, span.day)
                continue
            if _RANGE_JOIN_RE.fullmatch(gap):
                continue
        kept.append(span)
    return kept


def _absolute_date(m: re.Match[str], published: date) -> date | None:
    groups = m.groupdict()
    month = int(groups["mm"]) if groups.get("mm") else _MONTH_NAMES.get(m["m"].lower())
    if month is None:
        return None
    year = int(m["y"]) if m["y"] else published.year
    try:
        day = date(year, month, int(m["d"]))
    except ValueError:
        return None
    if not m["y"] and (published - day).days > YEAR_ROLLOVER_DAYS:
        try:
            day = day.replace(year=year + 1)
        except ValueError:
            return None
    return day


def _end_of(m: re.Match[str], published: date) -> date:
    if m["unit"] == "year":
        return date(published.year, 12, 31)
    month = published.month if m["unit"] == "month" else _MONTH_NAMES[m["m"].lower()]
    year = published.year + (1 if month < published.month else 0)
    return date(year, month, calendar.monthrange(year, month)[1])


def _resolve(mention: _Mention, published: date) -> date | None:
    if mention.weekday is None:
        return mention.day
    ahead = (mention.weekday - published.weekday()) % 7
    return published + timedelta(days=ahead)


def _words(text: str) -> list[str]:
    return [w.lower().strip(".'’") for w in _WORD_RE.findall(text)]


def _left_words(sentence: str, mentions: list[_Mention], i: int) -> list[str]:
    start = mentions[i - 1].end if i else 0
    left = sentence[start : mentions[i].start]
    return _words(left[left.rfind(";") + 1 :])


def _classify(sentence: str, mentions: list[_Mention], i: int) -> str:
    """One of "moved", "past" or "deadline" for mention `i`."""
    mention = mentions[i]
    left = _left_words(sentence, mentions, i)[-MOVE_WINDOW_WORDS:]
    nxt = mentions[i + 1] if i + 1 < len(mentions) else None
    if nxt and _RATHER_THAN_RE.fullmatch(sentence[mention.end : nxt.start]):
        return "moved"
    if left and left[-1] in {"to", "until", "till"} and MOVE_VERB_RE.search(" ".join(left)):
        return "moved"
    tense = _left_tense(left[-LEFT_WINDOW_WORDS:])
    if mention.forced_past or tense == "past":
        return "past"
    right = _words(sentence[mention.end :])[:RIGHT_WINDOW_WORDS]
    if _right_is_past(right):
        return "past"
    # A bare weekday in news is as often last Tuesday as next: with no future cue near it,
    # any past-tense verb in the sentence ("added the rule on Tuesday") makes it past.
    if mention.weekday is not None and tense is None and _has_past_verb(sentence):
        return "past"
    return "deadline"


def _left_tense(left: list[str]) -> str | None:
    """ "past", "future" or None from the cue nearest the date.

    "agreed … starting on 14 May" is future, "was due to come into force on 15 May" is past.
    """
    for distance, word in enumerate(reversed(left)):
        before = left[-distance - 2] if distance + 2 <= len(left) else ""
        if word in FUTURE_CUES:
            return "past" if before in {"was", "were", "been"} else "future"
        if word in PAST_CUES:
            return "past"
        if word in REPORTING_VERBS and (distance == 0 or left[-1] == "on") and distance <= 1:
            return "past"
    return None


def _has_past_verb(sentence: str) -> bool:
    return any(
        w in PAST_CUES or (w.endswith("ed") and w not in NOT_PAST_ED_WORDS)
        for w in _words(sentence)
    )


def _right_is_past(right: list[str]) -> bool:
    if not right:
        return False
    if right[0] in PAST_CUES or right[0] in PAST_RIGHT_CUES:
        return True
    for a, b in itertools.pairwise(right):
        if a in {"was", "were", "had"} and (b in PAST_CUES or b.endswith("ed")):
            return True
    return False


def _is_old_date(sentence: str, prev: _Mention, mention: _Mention, prev_kind: str) -> bool:
    """The date being replaced: "… rather than August 1", "to August 1 from July 9"."""
    gap = sentence[prev.end : mention.start]
    return bool(_RATHER_THAN_RE.fullmatch(gap)) or (
        prev_kind == "moved" and re.fullmatch(r"\s*from\s*", gap) is not None
    )


def _what(sentence: str, mention: _Mention, clause_floor: int) -> str:
    """The noun phrase the date belongs to: the object of a moving verb ("extended the tariff
    truce"), the object of "has until … to <verb>" ("Britain has until 9 July to finalise the
    steel terms"), else the subject of the clause before the date ("Comments are due by …");
    failing those, the clause before the date without its function words."""
    left = sentence[clause_floor : mention.start]
    phrase = _moved_object(left) or _until_object(left, sentence[mention.end :])
    if not phrase:
        phrase = _subject(left)
    if phrase and {w.lower() for w in phrase} - GENERIC_WHAT_WORDS - PRONOUNS:
        return " ".join(phrase[:WHAT_MAX_WORDS])
    return _clause_what(sentence, mention, clause_floor)


def _noun_phrase(text: str) -> list[str]:
    """The words of `text` up to the first preposition, verb or clause break, cleaned."""
    words: list[str] = []
    raws = text.split()
    for index, raw in enumerate(raws):
        word = raw.strip("\"“”'’")
        low = word.lower().rstrip(",;:.")
        nxt = raws[index + 1].lower() if index + 1 < len(raws) else ""
        if low in NP_ATTACHED and words and nxt and not _DATE_START_RE.match(nxt):
            words.append(word)  # "tariffs on Chinese cars", "ban on gallium exports to the US"
            continue
        if low in NP_STOP_WORDS or low in PARTICLES or _TIME_RE.fullmatch(word):
            break
        words.append(word.rstrip(",;:."))
        if raw.endswith((",", ";", ":")) or (raw.endswith(".") and len(raw) > 4):
            break
    return _clean_what(words)


def _moved_object(left: str) -> list[str]:
    moved = list(MOVE_OBJECT_RE.finditer(left))
    return _noun_phrase(left[moved[-1].end() :]) if moved else []


def _until_object(left: str, right: str) -> list[str]:
    if not UNTIL_TO_RE.search(left):
        return []
    after = re.match(r"\s*,?\s*to\s+[\w-]+\s+(?:(?:for|on|with|to)\s+)?(.*)", right)
    return _noun_phrase(after.group(1)) if after else []


def _subject(left: str) -> list[str]:
    """The words before the clause's first verb ("The tariff truce expires" -> tariff truce)."""
    reported = list(_REPORTED_RE.finditer(left))
    if reported:
        left = left[reported[-1].end() :]
    wanted = False  # a later clause had a verb but no subject: "…, which runs until …"
    for clause in reversed(_SUBJECT_CLAUSE_RE.split(left)):
        raws = clause.split()
        words: list[str] = []
        verb = False
        for index, raw in enumerate(raws):
            if raw.lower().strip(",.;:") in SUBJECT_END_WORDS:
                verb = True
                done = _object(raws[index:])  # "Customs will publish export data on …"
                if done:
                    return done
                break
            words.append(raw)
        phrase = _clean_what(words)
        if phrase and (verb or wanted):
            return phrase
        wanted = wanted or verb
    return []


def _object(raws: list[str]) -> list[str]:
    """The object of the clause's main verb, when the subject acts on something: the words
    after modal and auxiliary words and one transitive verb ("will face a 50% tariff")."""
    rest = list(raws)
    while rest and rest[0].lower() in AUXILIARY_WORDS:
        rest.pop(0)
    verb = rest[0].lower().strip(",.") if rest else ""
    if len(rest) < 2 or verb in INTRANSITIVE_WORDS or verb in PREPOSITIONS:
        return []
    if rest[1].lower() in NP_STOP_WORDS or rest[1].lower() in PARTICLES:
        return []
    return _noun_phrase(" ".join(rest[1:]))


def _clause_what(sentence: str, mention: _Mention, clause_floor: int) -> str:
    """A short phrase naming what falls due, taken from the clause before the date."""
    left = sentence[clause_floor : mention.start]
    reported = list(_REPORTED_RE.finditer(left))
    if reported:
        left = left[reported[-1].end() :]
    clauses = _CLAUSE_SPLIT_RE.split(left)
    words = _clean_what(clauses[-1].split())
    if {w.lower() for w in words} <= GENERIC_WHAT_WORDS:
        head = list(_HEAD_NOUN_RE.finditer(sentence[: mention.start]))
        if head:
            return " ".join([*_clean_what(head[-1].group(1).split()), "deadline"])
    # "The truce, which runs until …", "talks, due to start on …": the subject is further back.
    for clause in reversed(clauses[:-1]):
        if len(words) >= 2:
            break
        words = _clean_what(clause.split()) + words
    if not words:
        words = _clean_what(sentence[mention.end :].split()[:WHAT_MAX_WORDS])
    return " ".join(words[-WHAT_MAX_WORDS:])


def _clean_what(words: list[str]) -> list[str]:
    words = [w.strip(",.;:'’\"“”") for w in words]
    while words and (words[-1].lower() in WHAT_TRAILING_WORDS or _TIME_RE.fullmatch(words[-1])):
        words.pop()
    kept = [w for w in words if w and w.lower() not in WHAT_DROP_WORDS]
    while kept and kept[0].lower() in WHAT_LEADING_WORDS:
        kept.pop(0)
    return kept


def _attach_time(sentence: str, found: list[FoundDeadline]) -> list[FoundDeadline]:
    times = list(_TIME_RE.finditer(sentence))
    if len(times) != 1 or len(found) != 1:
        return found
    t = times[0]
    if t["h24"] is not None:
        at = time(int(t["h24"]), int(t["m24"]))
    else:
        hour = int(t["h"]) % 12 + (12 if t["ap"] == "p" else 0)
        if hour > 23:
            return found
        at = time(hour, int(t["mi"] or 0))
    only = found[0]
    return [FoundDeadline(only.date, at, only.sentence, only.what, only.kind)]

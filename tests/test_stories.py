"""Story clustering: normalization, same story vs same topic, the window, cost, `try stories`."""

from __future__ import annotations

import io
import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jobs.signals.stories import (
    CANDIDATES_SCORED,
    DecayingDocumentFrequency,
    NewsItem,
    Normalizer,
    StoryAssignment,
    StoryClusterer,
)
from jobs.signals.try_cli import run_try_stories

DATA = Path(__file__).parent / "data" / "signals" / "headlines.jsonl"
EVAL = Path(__file__).parent / "data" / "signals" / "stories_eval.jsonl"
T0 = datetime(2025, 6, 9, 8, 0, tzinfo=UTC)


def item(id_: str, title: str, source: str, hours: float = 0.0, summary: str = "") -> NewsItem:
    return NewsItem(id_, title, source, T0 + timedelta(hours=hours), summary)


def test_normalizer_folds_aliases_accents_stems_and_dates() -> None:
    n = Normalizer()
    assert n.tokens("Trade talks between Washington and Beijing get under way") == [
        "trad",
        "talk",
        "between",
        "us",
        "china",
        "begin",
    ]
    assert n.tokens("U.S. licences, permits; Brüssels, rare-earth export controls") == [
        "us",
        "licence",
        "licence",
        "eu",
        "rare-earth",
        "export-control",
    ]
    assert n.tokens("Truce extended to November 10, duties of 10%") == [
        "truce",
        "extend",
        "@11-10",
        "tariff",
        "#10",
    ]
    assert n.tokens("tell us more") == ["tell", "more"]


def test_same_story_from_several_outlets_becomes_one_story() -> None:
    c = StoryClusterer()
    first = c.add(item("a", "US, China officials meet in London to defuse trade war", "Reuters"))
    second = c.add(
        item("b", "Trade talks between Washington and Beijing get under way in London", "BBC", 2)
    )
    assert first == StoryAssignment("a", True, None, 0.0)
    assert (second.story_id, second.is_new_story, second.matched_id) == ("a", False, "a")
    assert second.similarity >= c.threshold


def warmed_up() -> StoryClusterer:
    """A clusterer that has seen five days of earlier headlines, as a running bot has."""
    c = StoryClusterer()
    for n, row in enumerate(sorted(_labelled(), key=lambda r: r["published"])):
        c.add(item(f"old{n}", row["title"], row["source"], -120 + n / 60, row["summary"]))
    return c


def test_same_topic_different_story_stays_apart() -> None:
    c = warmed_up()
    licences = c.add(
        item("a", "China grants rare earth export licences to suppliers of US carmakers", "Reuters")
    )
    figures = c.add(item("b", "China's rare earth magnet exports plunge 74% in May", "FT", 3))
    eu = c.add(item("c", "Trump says EU will face 30% tariff from August 1", "Reuters", 5))
    mexico = c.add(
        item("d", "Mexico says it will keep negotiating after 30% tariff letter", "AP", 6)
    )
    assert [a.is_new_story for a in (licences, figures, eu, mexico)] == [True] * 4


def test_items_further_apart_than_the_window_start_new_stories_and_are_evicted() -> None:
    c = StoryClusterer(window_h=48)
    c.add(item("a", "US and China extend trade truce to November 10", "Reuters"))
    late = c.add(item("b", "US and China extend trade truce to November 10", "BBC", 49))
    assert late.is_new_story
    assert len(c) == 1


def test_re_adding_an_item_returns_its_story() -> None:
    c = StoryClusterer()
    c.add(item("a", "Nvidia to take $5.5 billion charge on H20 curbs", "Reuters"))
    again = c.add(item("a", "Nvidia to take $5.5 billion charge on H20 curbs", "Reuters", 1))
    assert again == StoryAssignment("a", False, "a", 1.0)
    assert len(c) == 1


def test_each_add_scores_a_bounded_number_of_candidates() -> None:
    """With the real scorer, on items that do form stories, no add scores more than the bound."""
    calls = 0

    class Counting(StoryClusterer):
        def _score(self, *args: object) -> float:
            nonlocal calls
            calls += 1
            return super()._score(*args)  # type: ignore[arg-type]

    c = Counting()
    words = ["tariff", "steel", "china", "talks", "export", "chip"]
    per_add: list[int] = []
    stories: set[str] = set()
    for n in range(1_500):
        title = f"{words[n % 6]} {words[(n // 6) % 6]} figure {n % 50} report {n % 97}"
        before = calls
        stories.add(c.add(item(f"i{n}", title, f"outlet{n % 7}", n / 100)).story_id)
        per_add.append(calls - before)
    assert max(per_add) == CANDIDATES_SCORED  # the bound is reached, and never passed
    assert len(stories) < 1_500  # items did join stories: the scorer was really used
    assert len(c) == 1_500


def test_vocabulary_is_bounded_and_decays() -> None:
    df = DecayingDocumentFrequency(half_life_h=1, max_terms=100)
    for n in range(300):
        df.add([f"word{n}", "common"], T0)
    assert len(df) <= 100
    assert df.idf("common", T0) < df.idf("never-seen", T0)
    assert df.idf("common", T0 + timedelta(hours=40)) > df.idf("common", T0)


def _labelled() -> list[dict[str, str]]:
    with DATA.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def test_labelled_set_has_enough_headlines_and_stories() -> None:
    dev = [r for r in _labelled() if r.get("split", "dev") == "dev"]
    assert len(dev) >= 60
    assert len({r["story"] for r in dev}) >= 20


def clustered(rows: list[dict[str, str]]) -> dict[str, str]:
    """Item id -> the story it ends up in (stories joined later included), in publication order."""
    c = StoryClusterer()
    predicted: dict[str, str] = {}
    for r in sorted(rows, key=lambda r: r["published"]):
        published = datetime.fromisoformat(r["published"].replace("Z", "+00:00"))
        news = NewsItem(r["id"], r["title"], r["source"], published, r["summary"])
        predicted[r["id"]] = c.add(news).story_id
        predicted = {k: c.story_of(v) for k, v in predicted.items()}
    return predicted


def pairwise(rows: list[dict[str, str]]) -> tuple[float, float, int, int, int]:
    """Precision and recall over pairs of items put in one story, and TP, FP, FN."""
    predicted = clustered(rows)
    gold = {r["id"]: r["story"] for r in rows}
    tp = fp = fn = 0
    for a, b in itertools.combinations(gold, 2):
        same_gold, same_pred = gold[a] == gold[b], predicted[a] == predicted[b]
        tp, fp, fn = (
            tp + (same_gold and same_pred),
            fp + (same_pred and not same_gold),
            fn + (same_gold and not same_pred),
        )
    return tp / (tp + fp), tp / (tp + fn), tp, fp, fn


def test_labelled_set_meets_pairwise_precision_and_recall_floors() -> None:
    precision, recall, *_ = pairwise(_labelled())
    assert precision >= 0.95
    assert recall >= 0.90


def _evaluation() -> list[dict[str, str]]:
    with EVAL.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def test_evaluation_set_is_real_headlines_with_their_sources() -> None:
    rows = _evaluation()
    real = [r for r in rows if not r["origin"].startswith("written")]
    assert len(rows) >= 200 and len(real) >= 160
    assert len({r["story"] for r in rows}) >= 40
    assert all(r["source"] and r["origin"] for r in rows)
    samples = {r["origin"].split("#")[0] for r in real}
    assert samples <= {p.name for p in (Path(__file__).parent / "data" / "samples").iterdir()}


def test_evaluation_set_meets_pairwise_floors(capsys: pytest.CaptureFixture[str]) -> None:
    rows = _evaluation()
    figures = {
        "all": pairwise(rows),
        "real": pairwise([r for r in rows if not r["origin"].startswith("written")]),
        "written": pairwise([r for r in rows if r["origin"].startswith("written")]),
    }
    with capsys.disabled():
        for name, (p, r, tp, fp, fn) in figures.items():
            print(f"\nstories {name}: precision {p:.3f} recall {r:.3f} (TP {tp} FP {fp} FN {fn})")
    precision, recall, *_ = figures["all"]
    assert precision >= 0.95
    assert recall >= 0.90


def test_shared_names_without_a_shared_event_are_two_stories() -> None:
    for c in (StoryClusterer(), warmed_up()):
        talks = c.add(item("g1", "US and China officials meet in Geneva on tariffs", "Reuters"))
        consulate = c.add(
            item("g2", "China opens new consulate in Geneva, raising US concerns", "AP", 1)
        )
        again = c.add(item("g3", "US, China hold tariff talks in Geneva", "BBC", 2))
        assert talks.is_new_story and consulate.is_new_story
        assert (again.is_new_story, again.story_id) == (False, talks.story_id)


def test_a_report_of_a_plan_and_the_thing_done_are_two_stories() -> None:
    c = warmed_up()
    plan = c.add(item("p1", "Trump expected to shrink Utah national monuments", "Deseret"))
    done = c.add(item("p2", "Trump signs order shrinking two Utah national monuments", "AP", 5))
    assert plan.is_new_story and done.is_new_story


def test_names_in_title_case_are_learned_from_sentence_case_titles() -> None:
    n = Normalizer()
    n.features("Tribes say Bears Ears deserves protection", "")
    shouted = n.features("Timeline: The Shifting Boundaries Of Bears Ears", "")
    assert {"bear", "ear"}.isdisjoint(shouted.title_events)
    assert {"timelin", "shift", "boundary"} <= shouted.title_events


def test_two_stories_of_one_event_are_joined_by_an_item_matching_both() -> None:
    c = StoryClusterer()
    long = "Trump reduces size of 2 national monuments in Utah as Republicans reshape land rules"
    first = c.add(item("a", "Trump signs order shrinking 2 national monuments in Utah", "ABC4"))
    second = c.add(item("b", long, "AP", 0.2))
    c.add(item("c", long, "Boston Herald", 0.3))
    joined = c.add(item("d", "Trump signs order to reduce size of 2 Utah monuments", "NBC", 1))
    if second.is_new_story:  # only then is there anything to join
        assert c.story_of(second.story_id) == joined.story_id == first.story_id
        assert c.story_of("c") in (first.story_id, "c")


def test_try_stories_prints_one_story_per_item_in_input_order() -> None:
    lines = [
        {
            "id": "x",
            "title": "Trade talks between Washington and Beijing get under way in London",
            "source": "BBC",
            "published": "2025-06-09T10:30:00Z",
        },
        {
            "id": "y",
            "title": "China's rare earth magnet exports plunge 74% in May",
            "source": "FT",
            "published": "2025-06-09T09:00:00+00:00",
            "summary": "Customs data",
        },
        {
            "id": "z",
            "title": "US, China officials meet in London to defuse trade war",
            "source": "Reuters",
            "published": "2025-06-09T08:05:00",
            "label": "ignored",
        },
    ]
    stdin = io.StringIO("\n".join(json.dumps(x) for x in lines) + "\n\n")
    out = io.StringIO()
    assert run_try_stories(stdin, out) == 0
    assert out.getvalue().splitlines() == [
        '{"id": "x", "story": "z"}',
        '{"id": "y", "story": "y"}',
        '{"id": "z", "story": "z"}',
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "{not json",
            "error: line 2: not valid JSON (Expecting property name enclosed in double quotes)\n",
        ),
        ("[1, 2]", "error: line 2: expected a JSON object with id, title, source, published\n"),
        (
            '{"id": "b", "source": "AP", "published": "2025-06-09"}',
            'error: line 2: "title" must be a non-empty string\n',
        ),
        (
            '{"id": "b", "title": "t", "source": "AP", "published": "June 9th"}',
            'error: line 2: "published" must be an ISO 8601 date-time like 2025-06-09T08:05:00Z\n',
        ),
        (
            '{"id": "b", "title": "t", "source": "AP", "published": "2025-06-09", "summary": 3}',
            'error: line 2: "summary" must be a string\n',
        ),
    ],
)
def test_try_stories_names_the_bad_line_and_prints_nothing(line: str, message: str) -> None:
    good = '{"id": "a", "title": "Talks open", "source": "BBC", "published": "2025-06-09T08:00Z"}'
    out, err = io.StringIO(), io.StringIO()
    assert run_try_stories(io.StringIO(good + "\n" + line + "\n"), out, err=err) == 2
    assert out.getvalue() == ""
    assert err.getvalue() == message

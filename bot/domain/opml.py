"""OPML 2.0 import and export of news sources (the format feed readers exchange lists in).

Feeds are `<outline type="rss" xmlUrl="…">`. Herald's other kinds keep their kind (and a
page's selector) in `heraldKind` / `heraldSelect` attributes, which other readers ignore.
Input is hostile: size-bounded, and parsed with defusedxml, which refuses a DTD or entity
declaration in any encoding (a byte search for "<!DOCTYPE" misses UTF-16).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import cast

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring

from bot.domain.source_kinds import (
    SOURCE_KINDS,
    SourceKind,
    SourceSpec,
    SourceSpecError,
    source_spec,
)
from bot.domain.text import N_, ReaderError

MAX_OPML_BYTES = 2_000_000
MAX_OUTLINES = 5_000
MAX_TITLE_CHARS = 300


class OpmlError(ReaderError):
    """An OPML document that cannot be read; the message says why."""


@dataclass(frozen=True, slots=True)
class OpmlSource:
    """One source of an OPML document."""

    spec: SourceSpec
    title: str | None = None


@dataclass(frozen=True, slots=True)
class OpmlRead:
    """What an OPML document held: usable sources, and one reason per outline skipped."""

    sources: tuple[OpmlSource, ...]
    skipped: tuple[str, ...]


def _root(data: bytes) -> ET.Element:
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError(N_("the file is larger than {n} bytes"), n=MAX_OPML_BYTES)
    try:
        root = safe_fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        raise OpmlError(N_("documents with a DTD or entities are not accepted")) from None
    except ET.ParseError as exc:
        raise OpmlError(N_("not well-formed XML ({detail})"), detail=str(exc)) from None
    if root.tag.lower() != "opml" or root.find("body") is None:
        raise OpmlError(N_("not an OPML document (no <opml><body>)"))
    return root


def _spec(outline: ET.Element) -> SourceSpec:
    kind = outline.get("heraldKind") or "feed"
    if kind not in SOURCE_KINDS:
        raise SourceSpecError(N_("unknown heraldKind {kind}"), kind=repr(kind))
    url = (outline.get("xmlUrl") or "").strip()
    if kind == "page":
        page = url or (outline.get("htmlUrl") or "").strip()
        return source_spec(page=page, select=outline.get("heraldSelect"))
    checked = source_spec(url=url).url  # http(s) only, whatever the kind
    return SourceSpec(cast(SourceKind, kind), checked)


def parse_opml(data: bytes) -> OpmlRead:
    """The sources of an OPML document (nested folders included); raises OpmlError."""
    root = _root(data)
    sources: list[OpmlSource] = []
    skipped: list[str] = []
    seen: set[tuple[str, str, str | None]] = set()
    for outline in root.iter("outline"):
        if len(sources) + len(skipped) >= MAX_OUTLINES:
            skipped.append(f"more than {MAX_OUTLINES} outlines: the rest were ignored")
            break
        if outline.get("xmlUrl") is None and outline.get("heraldKind") is None:
            continue  # a folder
        title = outline.get("title") or outline.get("text") or None
        try:
            spec = _spec(outline)
        except SourceSpecError as exc:
            skipped.append(f"{(title or outline.get('xmlUrl') or '?')[:100]}: {exc}")
            continue
        if (spec.kind, spec.url, spec.select) in seen:
            continue
        seen.add((spec.kind, spec.url, spec.select))
        sources.append(OpmlSource(spec, title[:MAX_TITLE_CHARS] if title else None))
    return OpmlRead(tuple(sources), tuple(skipped))


def write_opml(
    sources: Sequence[OpmlSource], *, title: str = "Herald sources", now: datetime | None = None
) -> bytes:
    """An OPML 2.0 document listing `sources` in order."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(now or datetime.now(UTC), True)
    body = ET.SubElement(root, "body")
    for source in sources:
        name = source.title or source.spec.url
        attributes = {"text": name, "title": name}
        if source.spec.kind == "page":
            attributes |= {"type": "link", "htmlUrl": source.spec.url}
        else:
            attributes |= {"type": "rss", "xmlUrl": source.spec.url}
        if source.spec.kind != "feed":
            attributes["heraldKind"] = source.spec.kind
        if source.spec.select:
            attributes["heraldSelect"] = source.spec.select
        ET.SubElement(body, "outline", attributes)
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"

"""The report's figures in plain words, shared by the web page and the PDF."""

from __future__ import annotations

from ..duties.history import SelfApprovedItem
from ..hours import MINUS, hours_change_in_table, hours_in_table, hours_in_words
from .service import Measure, MonthlyReport, duration_words, format_pence, month_name, months_ending


def measure_text(kind: str, value: int) -> str:
    """A figure in the comparison table: hours as '28:30', counts as they are."""
    return hours_in_table(value) if kind == "hours" else str(value)


def change_text(measure: Measure) -> str:
    """The comparison table's change: '+2:30', '−0:15', '+3', '−1', '0'."""
    change = measure.change
    if measure.kind == "hours":
        return hours_change_in_table(change)
    return f"{'+' if change > 0 else MINUS if change < 0 else ''}{abs(change)}"


def reciprocity_words(report: MonthlyReport) -> str:
    r = report.reciprocity
    window = months_ending(report.month, 3)
    span = f"{month_name(window[0])} to {report.month_label}"
    if not r.active_members:
        return f"Nobody gave or received help from {span}."
    return (
        f"Of the {_count(r.active_members, 'member', 'members')} who gave or received help from {span}, "
        f"{r.both_ways} ({r.percent}%) both gave and received."
    )


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def requests_words(report: MonthlyReport) -> str:
    f = report.figures
    listed = _count(f.requests_made, "request", "requests")
    text = f"{listed} for help listed: {f.requests_met} met, {f.requests_unmet} not met yet."
    if report.median_minutes_to_match is None:
        return text + " None has had an offer of help yet." if f.requests_made else text
    return (
        text + f" Typical time from request to an offer of help (the median of {report.requests_matched}): "
        f"{duration_words(report.median_minutes_to_match)}."
    )


def value_words(report: MonthlyReport) -> str:
    assert report.hour_value_pence is not None and report.value_pence is not None
    return (
        f"{hours_in_words(report.figures.minutes)} x {format_pence(report.hour_value_pence)} an hour = "
        f"{format_pence(report.value_pence)}. This is an estimate of what the hours are worth, set by the "
        "coordinators; no money changed hands."
    )


def self_approval_words(report: MonthlyReport) -> str:
    """What the report must say when the coordinator could approve their own items (a timebank
    with a single coordinator, by an explicit setting), or did."""
    state = report.self_approval
    if state.on_at_start and not state.switched_off:
        when = f"all through {report.month_label}"
    elif state.was_on:
        when = f"for part of {report.month_label}"
    else:
        when = ""
    text = (
        f"Self-approval was on {when}: the coordinator could approve their own exchanges, grants from the "
        "community pool, limits and reversals, because the timebank has a single coordinator."
        if when
        else f"Self-approval was off in {report.month_label}."
    )
    count = len(state.items)
    if count == 0:
        return text + " They approved nothing for themselves."
    return text + f" They approved {_count(count, 'item', 'items')} for themselves, listed below."


def self_approved_item_words(item: SelfApprovedItem) -> str:
    return f"{item.when.day} {item.when:%B}: {item.coordinator}. {item.what}."

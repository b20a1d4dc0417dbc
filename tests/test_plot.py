"""The course's own chart: it keeps the points, draws SVG on demand, shows its figures as
text, and writes its names and numbers in the learner's language."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from course.plot import Plot, ticks

SVG = "{http://www.w3.org/2000/svg}"


def chart() -> Plot:
    return (Plot("nova-compute hosts", "count")
            .points("queues", [(5, 33), (1, 13), (100, 508)])
            .line("queues", lambda n: 8 + 5 * n))


def test_ticks_are_round_and_reach_the_top():
    assert ticks(508) == [0, 200, 400, 600]
    assert ticks(100) == [0, 20, 40, 60, 80, 100]
    assert ticks(7) == [0, 2, 4, 6, 8]
    assert ticks(0) == [0, 1]


def test_the_text_rendering_lists_each_point_and_the_formula_beside_it():
    lines = chart().text().splitlines()
    assert lines[0].split("  ")[0] == "nova-compute hosts"
    assert "queues (measured)" in lines[0] and "queues (formula)" in lines[0]
    assert [line.split() for line in lines[1:]] == [["1", "13", "13"], ["5", "33", "33"],
                                                   ["100", "508", "508"]]


def test_the_svg_draws_every_point_one_line_per_series_and_the_axes():
    plot = chart().points("consumers", [(1, 13), (100, 706)])
    bundle = plot._repr_mimebundle_()
    assert set(bundle) == {"image/svg+xml", "text/plain"}
    root = ET.fromstring(bundle["image/svg+xml"])
    assert len(root.findall(f"{SVG}circle")) == 5  # the measured points
    assert len(root.findall(f"{SVG}polyline")) == 3  # two measured series, one formula
    words = [t.text for t in root.iter(f"{SVG}text")]
    assert {"nova-compute hosts", "count", "queues (measured)", "queues (formula)",
            "consumers (measured)", "800", "100"} <= set(words)
    assert plot._repr_svg_() == bundle["image/svg+xml"]


def test_names_and_numbers_in_french(french):
    plot = Plot("nova-compute hosts", "count").points("queues", [(1, 13), (1000, 5008)])
    words = [t.text for t in ET.fromstring(plot.svg()).iter(f"{SVG}text")]
    assert "hôtes nova-compute" in words and "files d’attente (mesure)" in words
    assert "6\u202f000" in words
    assert "5\u202f008" in plot.text()


def test_an_empty_chart_still_draws():
    assert Plot("x", "y").svg().startswith("<svg") and Plot("x", "y").text() == "x"

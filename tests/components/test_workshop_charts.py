"""The workshop's charts and projector graphics (components/workshop/charts.py), and the escaping of user text
they rely on (no Streamlit run needed)."""
from components.common.text import literal
from components.workshop.charts import countdown_html, distribution_chart, leaderboard_chart
from core.workshop.quiz import Standing


def test_countdown_is_a_css_animation_that_runs_out_in_the_time_left():
    html = countdown_html(12.4, 30, "K7MPQ-3")
    assert "animation:cdK7MPQ3 12.4s linear forwards" in html
    assert "@keyframes cdK7MPQ3{from{width:41.3%}to{width:0%}}" in html
    assert "30 s to answer" in html
    assert "width:0.0%" in countdown_html(0, 30, "x")              # time is up: an empty bar, no negative width
    assert "width:100.0%" in countdown_html(45, 30, "x")           # clock skew: never more than full
    assert "<" not in countdown_html(5, 10, "<b>")[:7].replace("<style>", "")


def test_literal_escapes_every_markdown_construct():
    for text in ["**bold**", ":red[x]", "$x^2$", "[a](http://e.com)", "<b>hi</b>", "# title", "a_b_c", "`code`",
                 ":material/home:", "~~gone~~", "1. item", "> quote"]:
        escaped = literal(text)
        assert escaped.replace("\\", "") == text
        assert all(escaped[i - 1] == "\\" for i, c in enumerate(escaped) if c in "*[]$<>#_`:~" and i > 0)
    assert literal("two\nlines") == "two lines"
    assert literal("x" * 50, max_chars=10) == "x" * 10 + "…"


# ---- charts a room reads from the back row ----------------------------------------------------------------
def test_answer_counts_are_whole_numbers_and_scores_are_never_clipped():
    fig = distribution_chart({"A": 1, "B": 0})
    assert fig.layout.xaxis.dtick == 1 and fig.layout.xaxis.range[1] > 1
    revealed = distribution_chart({"A": 1, "B": 0}, right={"B"})
    assert revealed.data[0].y == ("A", "✓ B")           # the right answer is marked by more than its colour
    standings = [Standing(rank=1, nickname="Ada", points=809, correct=1, answered=1, time_s=2.0)]
    board = leaderboard_chart(standings)
    assert board.layout.xaxis.range[1] >= 809 * 1.2 and board.data[0].cliponaxis is False
    assert board.data[0].text == ("809",)

"""A live workshop in real browsers: one presenter and three participants in separate browser contexts.

They join by code, follow the presenter to a lesson, answer a live question, and the leaderboard and
podium show the right order. Screenshots go to screenshots/workshop-*.png.
"""
from __future__ import annotations

import contextlib
import re

import pytest
from playwright.sync_api import expect

from tests.browser.harness import SCREENSHOTS, LabPage, streamlit_server

pytestmark = pytest.mark.browser
KEY = "test-presenter-key"
PUBLIC_URL = "http://workshop.example.test:8600"      # what the join link must show instead of localhost


@pytest.fixture(scope="module")
def workshop_db(tmp_path_factory):
    return tmp_path_factory.mktemp("workshop") / "workshop.db"


@pytest.fixture(scope="module")
def workshop_url(workshop_db):
    """Our own server: a temporary database and a test presenter key."""
    db = workshop_db
    with streamlit_server("browser-workshop-server.log", {
            "GENAI_LAB_DB": str(db), "GENAI_LAB_PRESENTER_KEY": KEY, "GENAI_LAB_DATABASE_URL": None,
            "GENAI_LAB_PUBLIC_URL": PUBLIC_URL}) as url:
        yield url


def new_lab(browser, url) -> tuple:
    lab = LabPage.new(browser, url, width=1300)
    return lab.page.context, lab


def join(lab: LabPage, code: str, nickname: str) -> None:
    main = lab.page.locator("[data-testid=stMain]")
    main.get_by_label("Room code").fill(code)
    main.get_by_label("Nickname").fill(nickname)
    main.get_by_role("button", name="Join").click()
    lab.settle()


@contextlib.contextmanager
def browsers(failure_name: str):
    """(contexts, labs) lists a test fills; on failure, a screenshot and the JS errors of every browser; at the
    end every context is closed."""
    contexts, labs = [], []
    try:
        yield contexts, labs
    except Exception:
        for i, ctx in enumerate(contexts):      # what each browser showed when it failed
            for page in ctx.pages:
                SCREENSHOTS.mkdir(exist_ok=True)
                page.screenshot(path=str(SCREENSHOTS / f"{failure_name}-{i}.png"))
                print(f"browser {i}: {page.url} errors: {labs[i].errors if i < len(labs) else '?'}")
        raise
    finally:
        for ctx in contexts:
            ctx.close()


def test_presenter_and_three_participants(browser, workshop_url):
    with browsers("workshop-failure") as (contexts, labs):
        ctx, presenter = new_lab(browser, workshop_url)
        contexts.append(ctx)
        labs.append(presenter)
        presenter.open("presenter-console")
        presenter.page.get_by_label("Presenter key").fill("wrong key")
        presenter.page.get_by_role("button", name="Unlock").click()
        presenter.page.get_by_text("That is not the presenter key").wait_for()
        presenter.page.get_by_label("Presenter key").fill(KEY)
        presenter.page.get_by_role("button", name="Unlock").click()
        presenter.page.get_by_role("button", name="Open a new room").click()
        presenter.page.get_by_text("joined").first.wait_for()
        presenter.settle()
        code = re.search(r"room=([A-Z0-9]{5})", presenter.page.inner_text("body")).group(1)
        assert f"{PUBLIC_URL}/live-quiz?room={code}" in presenter.page.inner_text("body")
        presenter.page.locator("img[alt^='QR code']").wait_for()
        presenter.screenshot("workshop-presenter-room")
        # The presenter reloads: still unlocked, still on the room (a signed cookie, not the key, not the URL).
        presenter.page.wait_for_function("c => document.cookie.includes('genai_lab_presenter=' + c)", arg=code)
        assert KEY not in presenter.page.url and KEY not in presenter.page.evaluate("document.cookie")
        presenter.page.reload()
        presenter.settle()
        presenter.page.get_by_text(f"room={code}").first.wait_for(timeout=60_000)
        assert presenter.page.get_by_label("Presenter key").count() == 0

        people = {}
        for name in ("Ada", "Bo", "Cy"):
            ctx, lab = new_lab(browser, workshop_url)
            contexts.append(ctx)
            labs.append(lab)
            lab.open("live-quiz")
            people[name] = lab
        cy = people["Cy"]
        join(cy, "ZZZZZ" if code != "ZZZZZ" else "YYYYY", "Cy")       # a wrong code
        cy.page.get_by_text("There is no room").wait_for()
        join(people["Ada"], code.lower(), "Ada")
        join(cy, code, "ada")                                           # a taken nickname
        cy.page.get_by_text("already called").wait_for()
        join(cy, code, "\u0410da")                                      # the same, with a Cyrillic А
        cy.page.get_by_text("already called").wait_for()
        join(cy, code, "<b>Cy</b>")                                     # HTML in a nickname is shown as text
        join(people["Bo"], code, "Bo")
        for lab in people.values():
            lab.page.get_by_text("Waiting for the presenter").wait_for()
        presenter.page.get_by_text("3 joined").wait_for(timeout=60_000)
        assert presenter.page.get_by_text("<b>Cy</b>").count() >= 1
        presenter.screenshot("workshop-presenter-joined")

        # Follow me: the presenter opens lesson 1, then Next -> lesson 2; every participant's app follows.
        presenter.page.get_by_role("link", name=re.compile("Start with lesson 1")).click()
        presenter.page.locator("h1", has_text="1. What is generative AI?").wait_for()
        presenter.settle()
        presenter.page.get_by_role("button", name="Next lesson ▶").click()
        presenter.page.locator("h1", has_text="2. Inside a transformer").wait_for()
        for lab in people.values():
            lab.page.locator("h1", has_text="2. Inside a transformer").wait_for(timeout=120_000)
            assert "/live-quiz" in lab.page.url      # followers stay on the Live page, which shows the lesson
        people["Ada"].settle()
        people["Ada"].screenshot("workshop-participant-followed")

        # Live question: the first question of the presenter's section (tokens in "Thirumalaivasan": 6).
        presenter.page.get_by_role("link", name="Presenter console").click()
        presenter.page.locator("h1", has_text="Presenter console").wait_for()
        presenter.settle()
        presenter.page.get_by_role("tab", name="Live quiz").click()
        slider = presenter.page.get_by_role("slider")          # the longest time limit: this machine is slow
        slider.focus()
        slider.press("End")
        expect(slider).to_have_attribute("aria-valuetext", "120", timeout=60_000)
        presenter.settle()
        presenter.page.get_by_role("button", name="Launch question").click()
        # Three followers' pages poll the server every 2 s: late in a full run it answers slowly.
        presenter.page.get_by_text("0 of 3 answered").wait_for(timeout=180_000)
        for lab in people.values():
            lab.page.get_by_role("button", name="Send answer").wait_for(timeout=120_000)
        for name, answer in (("Ada", "6"), ("Bo", "6"), ("Cy", "7")):
            lab = people[name]
            lab.page.get_by_label(re.compile("Your answer")).fill(answer)
            lab.page.get_by_role("button", name="Send answer").click()
            lab.page.get_by_text("Your answer is in").wait_for(timeout=60_000)
        assert people["Bo"].page.get_by_role("button", name="Send answer").count() == 0   # no second answer possible
        presenter.page.get_by_text("3 of 3 answered").wait_for(timeout=60_000)
        presenter.screenshot("workshop-presenter-distribution")
        presenter.page.get_by_role("button", name="Reveal the answer").click()
        presenter.page.get_by_text("Leaderboard", exact=True).wait_for()
        presenter.settle()
        presenter.screenshot("workshop-presenter-leaderboard")
        places = {"Ada": "1 of 3", "Bo": "2 of 3", "Cy": "3 of 3"}
        for name, place in places.items():
            lab = people[name]
            lab.page.get_by_text(place).wait_for(timeout=60_000)
        people["Cy"].page.get_by_text("Not right").wait_for()
        # A phone that slept and reloads: Bo is back in the room, on his seat, with his points and place. The seat
        # is his browser's id cookie (HttpOnly), never in the address bar.
        bo = people["Bo"]
        assert "seat=" not in bo.page.url and f"room={code}" in bo.page.url
        assert "genai_lab_id" not in bo.page.evaluate("document.cookie")
        bo.page.reload()
        bo.settle()
        bo.page.get_by_text("2 of 3").wait_for(timeout=60_000)
        assert bo.page.get_by_role("button", name="Join").count() == 0       # no join form: still "of 3"
        # Bo's address pasted into another browser (a shared link, a photo of the screen) does not take his seat,
        # and neither does an old-style link that carries a seat token.
        ctx, stranger = new_lab(browser, workshop_url)
        contexts.append(ctx)
        labs.append(stranger)
        stranger.open(bo.page.url.split("/", 3)[3])
        stranger.page.get_by_role("button", name="Join").wait_for()
        stranger.open(f"live-quiz?room={code}&seat=stolen-token-0123456789")
        stranger.page.get_by_text("Seats stay with the browser that joined").wait_for()
        stranger.page.get_by_role("button", name="Join").wait_for()
        assert "seat=" not in stranger.page.url

        # A single-choice question on a phone: big tiles, one tap answers, and the answer is repeated back.
        ada_lab = people["Ada"]
        ada_lab.page.set_viewport_size({"width": 390, "height": 844})
        presenter.page.locator("[data-testid=stSelectbox]").filter(has_text="Question").click()
        presenter.page.get_by_role("option", name=re.compile("which vector says what a token")).click()
        presenter.settle()
        presenter.page.get_by_role("button", name="Launch question").click()
        tile = ada_lab.page.get_by_role("button", name=re.compile("The query"))
        tile.wait_for(timeout=120_000)
        box = tile.bounding_box()
        assert box["height"] >= 70 and box["width"] >= 150          # a thumb-sized target on a 390 px screen
        ada_lab.screenshot("workshop-phone-tiles")
        tile.click()
        ada_lab.page.get_by_text("Your answer is in").wait_for(timeout=60_000)
        ada_lab.page.get_by_text("The query").first.wait_for()
        presenter.page.get_by_text("1 of 3 answered").wait_for(timeout=60_000)
        presenter.page.get_by_role("button", name="Reveal the answer").click()
        ada_lab.page.get_by_text("Right: you answered").wait_for(timeout=60_000)
        ada_lab.page.set_viewport_size({"width": 1300, "height": 900})
        people["Ada"].settle()
        people["Ada"].screenshot("workshop-participant-leaderboard")

        presenter.page.get_by_role("button", name="Show the podium").click()
        presenter.page.get_by_text("Podium").first.wait_for()
        for lab in people.values():
            lab.page.get_by_text("Final results").wait_for(timeout=60_000)
        presenter.settle()
        presenter.screenshot("workshop-presenter-podium")
        people["Bo"].settle()
        people["Bo"].screenshot("workshop-participant-podium")

        # Self-paced quiz: Ada's answers are saved under her workshop nickname and drawn per section.
        ada = people["Ada"].page
        ada.locator("[data-testid=stSidebarNav]").get_by_role("link", name="12. Quiz").click()
        ada.locator("h1", has_text="12. Quiz").wait_for()
        people["Ada"].settle()
        ada.get_by_text("Traditional (analytical) AI").click()
        ada.get_by_role("button", name="Check answer").click()
        ada.get_by_text("Correct!").wait_for()
        ada.get_by_text("1 of 83 questions answered correctly").wait_for()
        people["Ada"].settle()
        people["Ada"].screenshot("workshop-self-paced-quiz")

        # Instructor analytics for the room: heatmap, per participant, CSV.
        presenter.page.locator("[data-testid=stSidebarNav]").get_by_role("link", name="Instructor").click()
        presenter.page.locator("h1", has_text="Instructor analytics").wait_for()
        presenter.settle()
        # It opens on the presenter's room (self-paced answers would read "1 answer from 1 participant").
        presenter.page.get_by_text("4 answers from 3 participants").wait_for()
        presenter.page.get_by_role("button", name="Download all answers (CSV)").wait_for()
        presenter.settle()
        presenter.screenshot("workshop-instructor-analytics")
        for lab in [presenter, *people.values()]:
            lab.assert_healthy()


def test_a_labeling_round_with_two_participants(browser, workshop_url):
    """Page 9's labeling round: the presenter samples answers and launches a round, two followers rank them and save,
    the presenter sees the distribution and the agreement, closes the round, and saving is over."""
    with browsers("workshop-labeling-failure") as (contexts, labs):
        ctx, presenter = new_lab(browser, workshop_url)
        contexts.append(ctx)
        labs.append(presenter)
        code = unlock_and_open_room(presenter)
        people = {}
        for name in ("Ada", "Bo"):
            ctx, lab = new_lab(browser, workshop_url)
            contexts.append(ctx)
            labs.append(lab)
            lab.open(f"live-quiz?room={code}")
            join(lab, code, name)
            people[name] = lab
        presenter.page.get_by_text("2 joined").wait_for(timeout=60_000)
        nav = presenter.page.locator("[data-testid=stSidebarNav]")   # the presenter moves to page 9; followers follow
        nav.get_by_role("link", name="9. RLHF").click()
        presenter.page.locator("h1", has_text="9. RLHF").wait_for()
        presenter.settle()
        for lab in people.values():
            lab.page.locator("h1", has_text="RLHF").wait_for(timeout=120_000)
            lab.page.get_by_text("When the presenter launches a labeling round").wait_for(timeout=120_000)
        presenter.page.get_by_text("No round yet").wait_for()
        presenter.page.get_by_text("Sample 3 completions").click()
        launch = presenter.page.get_by_role("button", name="Launch a round with these answers")
        expect(launch).to_be_enabled(timeout=180_000)
        presenter.settle()
        launch.click()
        presenter.page.get_by_text("0 ranking(s) saved so far", exact=False).wait_for(timeout=60_000)
        for name, choices in (("Ada", ("1", "2", "F")), ("Bo", ("1", "1", "2"))):
            page = people[name].page
            page.get_by_text("Labeling round 1 from the presenter", exact=False).wait_for(timeout=60_000)
            people[name].settle()
            groups = page.get_by_role("radiogroup")
            expect(groups).to_have_count(3)
            for group, choice in zip(groups.all(), choices):
                pick(people[name], group, choice)
            save = page.get_by_role("button", name="Save my ranking")
            expect(save).to_be_enabled(timeout=60_000)
            save.click()
            page.get_by_text(f"Saved for {name}", exact=False).wait_for(timeout=60_000)
        presenter.page.get_by_text("2 ranking(s) saved so far", exact=False).wait_for(timeout=60_000)
        presenter.page.get_by_text("pairwise agreement").first.wait_for(timeout=60_000)
        presenter.settle()
        presenter.screenshot("workshop-labeling-round-presenter")
        people["Ada"].settle()
        people["Ada"].screenshot("workshop-labeling-round-participant")
        presenter.page.get_by_role("button", name="Close the round").click()
        presenter.page.get_by_text("is closed with 2 ranking(s)", exact=False).wait_for(timeout=60_000)
        for lab in people.values():
            lab.page.get_by_text("closed: rankings are no longer saved", exact=False).wait_for(timeout=60_000)
            expect(lab.page.get_by_role("button", name="Save my ranking")).to_be_disabled()
        for lab in [presenter, *people.values()]:
            lab.settle()
            lab.assert_healthy()


def pick(lab: LabPage, group, choice: str) -> None:
    """Choose `choice` in a radio group and wait until the app ran with it (the option checked, the script idle).
    A click that lands while a live panel is being redrawn can hit the element being replaced: the option then
    stays unchecked, and it is clicked again, as a person would."""
    option = group.get_by_role("radio", name=choice, exact=True)
    for _ in range(3):
        group.get_by_text(choice, exact=True).click()
        try:
            expect(option).to_be_checked(timeout=15_000)
            break
        except AssertionError:
            continue
    expect(option).to_be_checked()
    lab.settle()


def unlock_and_open_room(presenter: LabPage) -> str:
    presenter.open("presenter-console")
    presenter.page.get_by_label("Presenter key").fill(KEY)
    presenter.page.get_by_role("button", name="Unlock").click()
    presenter.page.get_by_role("button", name="Open a new room").click()
    presenter.page.get_by_text("joined").first.wait_for()
    presenter.settle()
    return re.search(r"room=([A-Z0-9]{5})", presenter.page.inner_text("body")).group(1)


def console_with_cookie(browser, url: str, token: str, contexts: list, labs: list) -> LabPage:
    """A fresh browser that carries this presenter cookie, on the console."""
    ctx, lab = new_lab(browser, url)
    contexts.append(ctx)
    labs.append(lab)
    ctx.add_cookies([{"name": "genai_lab_presenter", "value": token, "url": url}])
    return lab.open("presenter-console")


def test_the_console_cookie_cannot_be_forged_outlives_nothing_and_locks(browser, workshop_url, workshop_db):
    """A forged or expired console cookie opens nothing; "Lock console" ends the session for every copy of the
    cookie; the presenter removes a participant, who loses the seat and cannot come back."""
    import time

    from core.storage.database import SQLiteDatabase
    from core.workshop.presenter_sessions import PresenterSessions
    from core.workshop.workshop import presenter_token

    with browsers("workshop-console-failure") as (contexts, labs):
        ctx, presenter = new_lab(browser, workshop_url)
        contexts.append(ctx)
        labs.append(presenter)
        code = unlock_and_open_room(presenter)
        presenter.page.wait_for_function("c => document.cookie.includes('genai_lab_presenter=' + c)", arg=code)
        token = next(c["value"] for c in ctx.cookies() if c["name"] == "genai_lab_presenter")
        room, expiry, session, signature = token.split(".")
        forged = ".".join([room, str(int(expiry) + 86_400), session, signature])          # a longer life
        secret = PresenterSessions(SQLiteDatabase(workshop_db)).server_secret()
        expired = presenter_token(secret, KEY, room, session, time.time() - 9 * 3600, hours=8)
        for bad in (forged, expired, "K7MPQ.9999999999.abc.0000"):
            lab = console_with_cookie(browser, workshop_url, bad, contexts, labs)
            lab.page.get_by_label("Presenter key").wait_for()                               # locked
        copy = console_with_cookie(browser, workshop_url, token, contexts, labs)           # a copy works while live
        copy.page.get_by_role("button", name="Lock console").wait_for()

        # A participant joins; the presenter removes them.
        ctx, rude = new_lab(browser, workshop_url)
        contexts.append(ctx)
        labs.append(rude)
        rude.open(f"live-quiz?room={code}")
        join(rude, code, "Rude Name")
        rude.page.get_by_text("Waiting for the presenter").wait_for()
        presenter.page.get_by_text("1 joined").wait_for(timeout=60_000)
        presenter.settle()
        presenter.page.get_by_text("Remove a participant").click()
        presenter.page.locator("[data-testid=stButtonGroup]").get_by_text("Rude Name", exact=True).click()
        presenter.page.get_by_role("button", name="Remove from the room").click()
        presenter.page.get_by_text("0 joined").wait_for(timeout=60_000)
        rude.page.get_by_text("The presenter removed you from this room").wait_for(timeout=60_000)
        join(rude, code, "Nice Name")
        rude.page.get_by_text("The presenter removed you from this room").wait_for()

        presenter.page.get_by_role("button", name="Lock console").click()
        presenter.page.get_by_label("Presenter key").wait_for()
        again = console_with_cookie(browser, workshop_url, token, contexts, labs)          # the copy is dead too
        again.page.get_by_label("Presenter key").wait_for()
        presenter.page.reload()
        presenter.settle()
        presenter.page.get_by_label("Presenter key").wait_for()
        for lab in labs:
            lab.settle()
            lab.assert_healthy()

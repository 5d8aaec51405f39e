"""Messages in their readers' language: a team's chat robot in the team's chat language, a suggestion's answer
in the language of the page the resident wrote it on (a real HTTP server stands in for the robot and the SMS gateway)."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from models import OutboxChannel, OutboxMessage, PatrolTeam, Role, Suggestion, db
from scheduler import notify_sender
from services import assignments, suggestions
from tests import public_builders as pb
from tests.factories import make_user
from tests.test_notify import http_hook, smtp, team_with  # noqa: F401 - fixtures
from tests.test_schedule_reminders import plain

__all__ = ["http_hook", "smtp"]


def test_the_team_chat_page_sets_the_groups_language(app, client, auth):
    coordinator = make_user(Role.COORDINATOR, email="c1@test.example")
    from tests.factories import make_team

    team = make_team(coordinator=coordinator)
    db.session.commit()
    assert team.chat_locale == "zh_CN"  # the default: Chinese
    auth.login("c1@test.example")
    page = client.get(f"/roster/teams/{team.id}/chat?lang=en").get_data(as_text=True)
    assert 'name="locale"' in page and '<option selected value="zh_CN">' in page
    url = f"/roster/teams/{team.id}/chat"
    assert client.post(url, data={"url": "wecombot://ABCDEF1234", "locale": "fr"}).status_code == 400
    db.session.expire_all()
    assert db.session.get(PatrolTeam, team.id).chat_webhook == ""  # nothing saved
    assert client.post(url, data={"url": "wecombot://ABCDEF1234", "locale": "en"}).status_code == 302
    db.session.expire_all()
    saved = db.session.get(PatrolTeam, team.id)
    assert (saved.chat_webhook, saved.chat_locale) == ("wecombot://ABCDEF1234", "en")
    assert client.post(url, data={"url": "wecombot://ABCDEF5678"}).status_code == 302  # the language stays
    db.session.expire_all()
    assert db.session.get(PatrolTeam, team.id).chat_locale == "en"
    assert '<option selected value="en">' in client.get(url).get_data(as_text=True)


@pytest.mark.parametrize("chat_locale", ["en", "zh_CN"])
def test_team_chat_messages_are_in_the_teams_language(app, smtp, http_hook, chat_locale):  # noqa: F811
    coordinator, volunteer, team, shift = team_with("zh_CN", hours=30, min_volunteers=1)
    volunteer.name_en = "Wang Fang"
    team.chat_webhook = f"json://127.0.0.1:{http_hook.server_address[1]}/robot"
    team.chat_locale = chat_locale
    db.session.commit()
    app.config["DROP_CUTOFF_HOURS"] = 1
    assignment = assignments.sign_up(volunteer, shift.id)
    assignments.drop(volunteer, assignment.id)
    chat_rows = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.channel == OutboxChannel.CHAT)).all()
    assert {r.locale for r in chat_rows} == {chat_locale}
    emails = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.channel == OutboxChannel.EMAIL)).all()
    assert {r.locale for r in emails} == {"zh_CN"}  # people keep their own language
    assert notify_sender.send_due().sent == 7
    posted = [json.dumps(body, ensure_ascii=False) for _, body in http_hook.received]
    assert len(posted) == 3
    if chat_locale == "en":
        assert all(team.name_en in text for text in posted)
        assert [t for t in posted if team.name_zh in t] == []
        assert any("Wang Fang dropped a shift starting soon" in text for text in posted)
        assert any("Roster change: signed up" in text for text in posted)
    else:
        assert all(team.name_zh in text for text in posted)
        assert not any("dropped a shift" in text or "Roster change" in text for text in posted)
        assert any(volunteer.name in text for text in posted)
    # The coordinator's own email stays in their language (Chinese here), with the Chinese name.
    to_coordinator = [plain(m) for m in smtp.messages if m["To"] == coordinator.email]
    assert any(volunteer.name in text and "Wang Fang" not in text for text in to_coordinator)


@pytest.mark.parametrize(("lang", "says"), [("en", "has an answer"), ("zh", "答复")])
def test_a_suggestion_keeps_its_pages_language_and_the_answer_is_told_in_it(app, client, http_hook, lang, says):  # noqa: F811
    app.config["SMS_URL"] = http_hook.url + "/sms"
    session_id = pb.contact_day().id
    staff = make_user(Role.STAFF)
    db.session.commit()
    response = client.post(
        f"/suggestions/new/{session_id}?lang={lang}",
        data={"content": "The street light is broken", "name": "", "contact": "138 1234 5678"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    item = db.session.scalar(sa.select(Suggestion))
    assert item.locale == ("en" if lang == "en" else "zh_CN")
    suggestions.assign(item, pb.bureau().id, staff)
    suggestions.answer(item, "Repaired", staff)
    [row] = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "suggestion_answered")).all()
    assert row.locale == item.locale and row.channel is OutboxChannel.SMS
    assert notify_sender.send_due().sent == 1
    text = http_hook.received[0][1]["text"]
    assert item.tracking_number in text and says in text
    if lang == "en":
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in text)  # not one Chinese character


SAMPLE = {
    "shift_id": 1,
    "team_zh": "甲队",
    "team_en": "Team A",
    "area_zh": "湖东",
    "area_en": "East shore",
    "start": "2027-01-02T11:00:00+00:00",
    "end": "2027-01-02T14:00:00+00:00",
    "session_start": "2027-01-02T10:00:00+00:00",
    "session_end": "2027-01-02T15:00:00+00:00",
    "place_zh": "独墅社区",
    "place_en": "Dushu",
    "venue_zh": "联络所",
    "venue_en": "Centre",
    "address_zh": "二楼",
    "address_en": "2F",
    "from_name": "Zhang",
    "to_name": "Li",
    "volunteer_name_zh": "王五",
    "volunteer_name_en": "Wang Wu",
    "what": "signup",
    "assigned": 1,
    "minimum": 3,
    "taker": "Zhao",
    "giver": "Qian",
    "approved": True,
    "ref": "ABC123",
    "number": "S-1",
    "code": "123456",
    "minutes": 10,
    "shifts": [
        {
            "team_zh": "甲队",
            "team_en": "Team A",
            "start": "2027-01-02T11:00:00+00:00",
            "end": "2027-01-02T14:00:00+00:00",
            "assigned": 1,
            "minimum": 2,
        }
    ],
}


def _cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_every_kind_reads_in_english_and_in_chinese(app):
    """The table of kinds (services/notify_events.NOTICES and its siblings): each renders in both languages."""
    from flask_babel import force_locale

    from services import notify

    kinds = notify.kinds()
    assert len(kinds) >= 27
    for kind, spec in kinds.items():
        for approved in (True, False):
            context = SAMPLE | {"approved": approved}
            with force_locale("en"):
                english = spec.render(dict(context), notify.Recipient(key="k", name="Ann", locale="en"))
            with force_locale("zh_CN"):
                chinese = spec.render(dict(context), notify.Recipient(key="k", name="安", locale="zh_CN"))
            assert english.subject and english.text, kind
            assert not _cjk(english.subject + english.text), (kind, english.subject, english.text)
            assert _cjk(chinese.subject) and _cjk(chinese.text), (kind, chinese.subject)
            if english.html:
                assert "style=" not in english.html and "<script" not in english.html

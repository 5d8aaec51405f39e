"""Suggestions from contact days: every one tracked to an answer, and no personal data to outsiders."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from models import AuditLog, OccurrenceStatus, Role, Suggestion, SuggestionStatus, db, utcnow
from services import suggestions as service
from services.codes import ALPHABET
from services.errors import RuleViolation
from tests import public_builders as pb
from tests.factories import make_community, make_user


@pytest.fixture
def staff(app):
    user = make_user(Role.STAFF, email="staff@test.example")
    db.session.commit()
    return user


def test_the_whole_workflow_received_assigned_answered_closed(app, staff):
    session = pb.contact_day()
    suggestion = service.submit(session.id, "请在地铁站增设自行车停放点。", "周先生", "13812345678")
    assert suggestion.status is SuggestionStatus.RECEIVED
    assert len(suggestion.tracking_number) == 10 and set(suggestion.tracking_number) <= set(ALPHABET)
    transport = pb.bureau()
    db.session.commit()  # services roll back their own unit of work on a refusal, not the test's setup
    with pytest.raises(RuleViolation) as refused:  # nobody answers before a bureau has it
        service.answer(suggestion, "已安排。", staff)
    assert refused.value.code == "not_assigned"
    with pytest.raises(RuleViolation) as refused:
        service.close(suggestion, staff)
    assert refused.value.code == "not_answered"
    service.assign(suggestion, transport.id, staff)
    assert suggestion.status is SuggestionStatus.ASSIGNED and suggestion.bureau is transport
    service.answer(suggestion, "已在两个出口增设停放点。", staff)
    first_answer = suggestion.answered_at
    assert suggestion.status is SuggestionStatus.ANSWERED and first_answer is not None
    service.answer(suggestion, "已在三个出口增设停放点。", staff)  # a correction keeps the first answer's time
    assert suggestion.answered_at == first_answer
    with pytest.raises(RuleViolation) as refused:
        service.assign(suggestion, transport.id, staff)
    assert refused.value.code == "already_answered"
    service.close(suggestion, staff)
    assert suggestion.status is SuggestionStatus.CLOSED and suggestion.closed_at is not None
    with pytest.raises(RuleViolation) as refused:
        service.answer(suggestion, "改动", staff)
    assert refused.value.code == "closed"
    actions = db.session.scalars(sa.select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions == [
        "suggestion.submit",
        "suggestion.assign",
        "suggestion.answer",
        "suggestion.answer",
        "suggestion.close",
    ]


def test_suggestions_only_for_real_recent_contact_day_sessions(app):
    with pytest.raises(RuleViolation) as unknown:
        service.submit(999, "建议")
    assert unknown.value.status == 404
    with pytest.raises(RuleViolation) as clinic_session:
        service.submit(pb.clinic_session().id, "建议")
    assert clinic_session.value.code == "no_session"
    with pytest.raises(RuleViolation) as cancelled:
        service.submit(pb.contact_day(status=OccurrenceStatus.CANCELLED).id, "建议")
    assert cancelled.value.code == "session_cancelled"
    with pytest.raises(RuleViolation) as old:
        service.submit(pb.contact_day(day=dt.date(2026, 1, 11)).id, "建议", now=dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    assert old.value.code == "session_too_old"
    recent = pb.contact_day(day=dt.date(2026, 1, 11))
    assert service.submit(recent.id, "建议", now=dt.datetime(2026, 2, 1, tzinfo=dt.UTC)).id


def test_submit_and_track_through_the_pages(app, client):
    session = pb.contact_day(make_community(name_en="Jinhu Community"))
    db.session.commit()
    form = client.get(f"/suggestions/new/{session.id}?lang=en").get_data(as_text=True)
    assert '<label for="content">Your suggestion</label>' in form
    response = client.post(
        f"/suggestions/new/{session.id}?lang=en",
        data={"content": "More English signs, please.", "name": "Anna Schmidt", "contact": "Anna@Example.com"},
    )
    assert response.status_code == 302
    number = db.session.scalar(sa.select(Suggestion.tracking_number))
    assert number in client.get("/suggestions/received?lang=en").get_data(as_text=True)
    stored = db.session.scalar(sa.select(Suggestion))
    assert stored.submitter_contact == "anna@example.com" and stored.recorded_by_id is None

    status = client.get(f"/suggestions/track?lang=en&number={number[:5].lower()} {number[5:]}")
    html = status.get_data(as_text=True)
    assert status.status_code == 200 and "Received, waiting to be assigned" in html and "Jinhu Community" in html


def test_an_official_records_a_suggestion_on_behalf_of_a_resident(app, client, auth):
    session = pb.contact_day()
    official = pb.official()
    official.email = "official@test.example"
    db.session.commit()
    auth.login("official@test.example")
    assert "on behalf of a resident" in client.get(f"/suggestions/new/{session.id}?lang=en").get_data(as_text=True)
    client.post(f"/suggestions/new/{session.id}", data={"content": "居民反映:路灯不亮。"})
    assert db.session.scalar(sa.select(Suggestion.recorded_by_id)) == official.id


def test_a_tracking_number_reveals_no_personal_data(app, client, staff):
    session = pb.contact_day()
    suggestion = service.submit(session.id, "我住在金湖花园3栋502室,楼道灯坏了。", "周建华", "13812345678")
    service.assign(suggestion, pb.bureau().id, staff)
    service.answer(suggestion, "已修复楼道灯。", staff)
    db.session.commit()
    for lang in ("en", "zh"):
        html = client.get(f"/suggestions/track?lang={lang}&number={suggestion.tracking_number}").get_data(as_text=True)
        assert "已修复楼道灯。" in html  # the answer is what the number is for
        for personal in ("周建华", "13812345678", "5678", "3栋502室"):
            assert personal not in html
    # A guessed number finds nothing, with the same message for any wrong number.
    wrong = client.get("/suggestions/track?lang=en&number=ABCDEFGHJK")
    assert wrong.status_code == 404 and "No suggestion has this tracking number" in wrong.get_data(as_text=True)
    assert client.get("/suggestions/track?lang=en&number=" + "A" * 41).status_code == 400


def test_the_answer_shows_only_once_answered(app, client, staff):
    suggestion = service.submit(pb.contact_day().id, "建议")
    service.assign(suggestion, pb.bureau().id, staff)
    suggestion.answer = "草稿"  # a draft typed in but not yet saved as the answer
    db.session.commit()
    html = client.get(f"/suggestions/track?number={suggestion.tracking_number}").get_data(as_text=True)
    assert "草稿" not in html


@pytest.mark.parametrize(
    "data, message",
    [
        ({"content": ""}, "Please fill in: Your suggestion."),
        ({"content": "x" * 2001}, "at most 2000 characters"),
        ({"content": "<script>alert(1)</script>"}, "may not contain HTML or script tags"),
        ({"content": "ok", "name": "<b>me</b>"}, "may not contain HTML or script tags"),
        ({"content": "ok", "name": "n" * 101}, "at most 100 characters"),
        ({"content": "ok", "contact": "12345"}, "Please enter a phone number"),
        ({"content": "ok", "contact": "me@"}, "Please enter a valid email address"),
    ],
)
def test_bad_suggestion_input_gets_a_message_a_4xx_and_is_not_stored(app, client, data, message):
    session = pb.contact_day()
    db.session.commit()
    response = client.post(f"/suggestions/new/{session.id}?lang=en", data=data)
    html = response.get_data(as_text=True)
    assert 400 <= response.status_code < 500
    assert message in html
    assert "<script>alert(1)" not in html and "<b>me</b>" not in html
    assert db.session.scalar(sa.select(sa.func.count(Suggestion.id))) == 0


def test_staff_assign_answer_and_close_through_the_pages(app, client, auth, staff):
    suggestion = service.submit(pb.contact_day().id, "建议增设路灯。", "周先生", "13812345678")
    transport = pb.bureau()
    db.session.commit()
    auth.login("staff@test.example")
    detail = client.get(f"/suggestions/manage/{suggestion.id}?lang=en")
    assert detail.status_code == 200 and "13812345678" in detail.get_data(as_text=True)
    assert detail.headers["Cache-Control"] == "no-store"
    assert client.post(f"/suggestions/manage/{suggestion.id}/answer", data={"answer": "x"}).status_code == 409
    assert client.post(f"/suggestions/manage/{suggestion.id}/assign", data={"bureau": transport.id}).status_code == 302
    bad = client.post(f"/suggestions/manage/{suggestion.id}/answer?lang=en", data={"answer": "<script>x</script>"})
    assert bad.status_code == 400 and "may not contain HTML" in bad.get_data(as_text=True)
    assert client.post(f"/suggestions/manage/{suggestion.id}/answer", data={"answer": "已增设。"}).status_code == 302
    assert client.post(f"/suggestions/manage/{suggestion.id}/close").status_code == 302
    db.session.expire_all()
    assert suggestion.status is SuggestionStatus.CLOSED and suggestion.answer == "已增设。"
    listing = client.get("/suggestions/manage?status=all&lang=en").get_data(as_text=True)
    assert suggestion.tracking_number in listing
    assert suggestion.tracking_number not in client.get("/suggestions/manage?lang=en").get_data(as_text=True)


def test_only_staff_see_the_handling_pages(app, client, auth):
    suggestion = service.submit(pb.contact_day().id, "建议", "周先生", "13812345678")
    make_user(Role.VOLUNTEER, email="volunteer@test.example")
    make_user(Role.OFFICIAL, email="official@test.example")
    db.session.commit()
    urls = ["/suggestions/manage", f"/suggestions/manage/{suggestion.id}", "/suggestions/manage/report"]
    for url in urls:
        assert client.get(url).status_code == 302
    for email in ("volunteer@test.example", "official@test.example"):
        auth.login(email)
        for url in urls:
            assert client.get(url).status_code == 403
        assert client.post(f"/suggestions/manage/{suggestion.id}/close").status_code == 403
        auth.logout()


def _aged(days_ago: float, answered_after: float | None = None, status=None, bureau=None, now=None) -> Suggestion:
    created = now - dt.timedelta(days=days_ago)
    answered = created + dt.timedelta(days=answered_after) if answered_after is not None else None
    item = Suggestion(
        tracking_number=f"T{len(db.session.new)}{days_ago}{answered_after}".replace(".", "")[:24],
        content="x",
        created_at=created,
        answered_at=answered,
        bureau=bureau,
        status=status or (SuggestionStatus.ANSWERED if answered else SuggestionStatus.RECEIVED),
        answer="a" if answered else "",
    )
    db.session.add(item)
    db.session.flush()
    return item


def test_report_open_by_age_and_bureau_and_the_share_answered_in_15_and_30_days(app):
    now = utcnow()
    transport, education = pb.bureau(), pb.bureau("education", "教育局", "Education Bureau")
    _aged(40, 10, now=now, bureau=transport)  # in 15 and in 30
    _aged(40, 20, now=now, bureau=transport, status=SuggestionStatus.CLOSED)  # late for 15, in 30
    _aged(50, 35, now=now, bureau=education)  # late for both
    _aged(3, 1, now=now, bureau=education)  # young, answered: in both
    _aged(20, now=now, bureau=transport, status=SuggestionStatus.ASSIGNED)  # open 20 days: late for 15
    _aged(2, now=now)  # open 2 days: not judged yet
    _aged(31, now=now, bureau=education, status=SuggestionStatus.ASSIGNED)  # open 31 days: late for both
    report = service.report(now)
    assert report.received == 7 and report.answered == 4 and report.closed == 1 and report.open_total == 3
    fifteen, thirty = report.shares
    assert (fifteen.answered_in_time, fifteen.judged) == (2, 6)
    assert (thirty.answered_in_time, thirty.judged) == (3, 5)
    rows = {(bureau.slug if bureau else None): counts for bureau, counts, _total in report.rows}
    assert rows == {None: [1, 0, 0, 0], "transport": [0, 0, 1, 0], "education": [0, 0, 0, 1]}
    assert report.bucket_totals == [1, 0, 1, 1]


def test_report_page(app, client, auth, staff):
    now = utcnow()
    _aged(40, 10, now=now, bureau=pb.bureau())
    _aged(20, now=now, bureau=pb.bureau(), status=SuggestionStatus.ASSIGNED)
    db.session.commit()
    auth.login("staff@test.example")
    html = client.get("/suggestions/manage/report?lang=en").get_data(as_text=True)
    assert "Transport Bureau" in html and "answered within 15 days" in html
    assert '<li id="share-15"><strong>50 %</strong>' in html


def test_suggestion_posts_are_rate_limited(app, database_url):
    from app import create_app
    from extensions import limiter
    from tests.conftest import base_config

    session = pb.contact_day()
    db.session.commit()
    limited = create_app(base_config(database_url, RATELIMIT_ENABLED=True))
    try:
        client = limited.test_client()
        statuses = [client.post(f"/suggestions/new/{session.id}", data={"content": ""}).status_code for _ in range(11)]
        assert statuses == [400] * 10 + [429]
    finally:
        limiter.reset()
        limiter.enabled = False  # the limiter is one object shared by every app in this process
        with limited.app_context():
            db.engine.dispose()

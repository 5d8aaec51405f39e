"""Contact-day suggestions and their tracked answers.

Residents and officials record a suggestion against a contact-day session and get a tracking
number; anyone with the number sees the state and the answer (never who wrote it). Staff
assign, answer and close; the report shows what is still open and how fast answers come.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import orm
from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

import inputs
from access import roles_required
from extensions import limiter
from i18n import current_language
from models import Bureau, Occurrence, OccurrenceStatus, Programme, ProgrammeKind, Role, SuggestionStatus, db, utcnow
from responses import violation_page
from services import suggestions as service
from services.errors import RuleViolation

bp = Blueprint("suggestions", __name__, url_prefix="/suggestions")
LAST_SUGGESTION = "suggestion_tracking"
TRACK_MAX = 40


def _too_long(label, maximum):
    return Length(
        max=maximum, message=_l("%(field)s is too long: at most %(max)d characters.", field=label, max=maximum)
    )


class SuggestionForm(FlaskForm):
    content = TextAreaField(
        _l("Your suggestion"),
        validators=[
            DataRequired(message=_l("Please fill in: %(field)s.", field=_l("Your suggestion"))),
            _too_long(_l("Your suggestion"), service.CONTENT_MAX),
        ],
    )
    name = StringField(
        _l("Your name (optional)"),
        validators=[_too_long(_l("Your name"), service.NAME_MAX)],
        render_kw={"autocomplete": "name"},
    )
    contact = StringField(
        _l("Phone or email (optional)"),
        validators=[_too_long(_l("Phone or email"), service.CONTACT_MAX)],
        description=_l(
            "So that the bureau can reach you if it needs to. Seen only by the staff who handle suggestions."
        ),
    )
    submit = SubmitField(_l("Send the suggestion"))


class AssignForm(FlaskForm):
    bureau = SelectField(_l("Bureau"), coerce=inputs.coerce_id)
    submit = SubmitField(_l("Assign"))


class AnswerForm(FlaskForm):
    answer = TextAreaField(
        _l("Answer"),
        validators=[
            DataRequired(message=_l("Please fill in: %(field)s.", field=_l("Answer"))),
            _too_long(_l("Answer"), service.ANSWER_MAX),
        ],
        description=_l("Anyone with the tracking number can read the answer: write no personal data in it."),
    )
    submit = SubmitField(_l("Save the answer"))


class CloseForm(FlaskForm):
    submit = SubmitField(_l("Close the suggestion"))


def _contact_day_session(occurrence_id: int) -> Occurrence:
    occurrence = db.session.scalar(
        sa.select(Occurrence)
        .join(Programme)
        .where(Occurrence.id == occurrence_id, Programme.kind == ProgrammeKind.CONTACT_DAY)
        .options(orm.joinedload(Occurrence.community), orm.joinedload(Occurrence.venue))
    )
    if occurrence is None:
        abort(404)
    return occurrence


def _records_for_others() -> bool:
    """Officials and staff write down what residents said at the session."""
    return current_user.is_authenticated and current_user.has_role(Role.OFFICIAL, Role.STAFF)


# ---------------------------------------------------------------- residents


@bp.route("/")
def index():
    return render_template("suggestions/index.html", number="", error=None)


@bp.route("/track")
@limiter.limit("30 per minute")
def track():
    number = (request.args.get("number") or "").strip()
    if len(number) > TRACK_MAX:
        return render_template(
            "suggestions/index.html",
            number=number[:TRACK_MAX],
            error=_("A tracking number has 10 letters and digits; this is too long."),
        ), 400
    try:
        found = service.track(number)
    except RuleViolation as violation:
        return violation_page(
            violation, lambda error: render_template("suggestions/index.html", number=number, error=error), inline=True
        )
    return render_template("suggestions/track.html", item=found)


@bp.route("/new/<id:occurrence_id>", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def new(occurrence_id: int):
    occurrence = _contact_day_session(occurrence_id)
    if occurrence.status is OccurrenceStatus.CANCELLED:
        # No form for a session that did not take place; a POST is refused before reading it.
        return render_template(
            "suggestions/new.html",
            occurrence=occurrence,
            form=None,
            on_behalf=_records_for_others(),
            error=_("This contact-day session was cancelled. Please choose another session."),
        ), 409
    form = SuggestionForm()

    def page(error=None):
        return render_template(
            "suggestions/new.html", occurrence=occurrence, form=form, error=error, on_behalf=_records_for_others()
        )

    if form.validate_on_submit():
        try:
            suggestion = service.submit(
                occurrence.id,
                form.content.data,
                form.name.data or "",
                form.contact.data or "",
                recorded_by=current_user if _records_for_others() else None,
                locale=current_language(),
            )
        except RuleViolation as violation:
            return violation_page(violation, page, inline=True)
        session[LAST_SUGGESTION] = suggestion.tracking_number
        return redirect(url_for(".received"))
    return page(), 400 if request.method == "POST" else 200


@bp.route("/received")
def received():
    number = session.get(LAST_SUGGESTION)
    if not number:
        return redirect(url_for(".index"))
    return render_template("suggestions/received.html", number=number)


# ---------------------------------------------------------------- staff


@bp.after_request
def _no_store_for_staff(response):
    if request.endpoint and request.endpoint.startswith("suggestions.manage"):
        response.headers["Cache-Control"] = "no-store"  # submitters' names and contacts
    return response


def _bureaus() -> list[Bureau]:
    return list(db.session.scalars(sa.select(Bureau).order_by(Bureau.slug)))


@bp.route("/manage")
@roles_required(Role.STAFF)
def manage():
    status_arg = request.args.get("status", "open")
    statuses = {s.value: s for s in SuggestionStatus}
    if status_arg not in statuses and status_arg not in ("open", "all"):
        abort(404)
    bureau_id = inputs.id_arg("bureau")
    if status_arg == "all":
        chosen = None
    elif status_arg == "open":
        chosen = service.OPEN_STATUSES
    else:
        chosen = (statuses[status_arg],)
    query = service.staff_query(chosen, bureau_id)
    page = db.paginate(query, page=inputs.page_arg(), per_page=30, error_out=False)
    return render_template(
        "suggestions/manage.html",
        page=page,
        status_arg=status_arg,
        bureau_id=bureau_id,
        bureaus=_bureaus(),
        statuses=list(SuggestionStatus),
        status_label=service.status_label,
        now=utcnow(),
    )


def _staff_detail(suggestion, assign_form=None, answer_form=None, error=None, status=200):
    return _staff_page(suggestion, assign_form, answer_form, error), status


def _staff_page(suggestion, assign_form=None, answer_form=None, error=None):
    assign_form = assign_form or AssignForm(bureau=suggestion.bureau_id)
    assign_form.bureau.choices = [(b.id, b.name) for b in _bureaus()]
    answer_form = answer_form or AnswerForm(answer=suggestion.answer)
    return render_template(
        "suggestions/manage_detail.html",
        s=suggestion,
        assign_form=assign_form,
        answer_form=answer_form,
        close_form=CloseForm(),
        error=error,
        status_label=service.status_label,
    )


def _suggestion_or_404(suggestion_id: int):
    suggestion = service.get(suggestion_id)
    if suggestion is None:
        abort(404)
    return suggestion


@bp.route("/manage/<id:suggestion_id>")
@roles_required(Role.STAFF)
def manage_detail(suggestion_id: int):
    return _staff_detail(_suggestion_or_404(suggestion_id))


def _act(suggestion_id: int, action, form=None, success: str = ""):
    suggestion = _suggestion_or_404(suggestion_id)
    if form is not None and not form.validate_on_submit():
        kwargs = {"assign_form": form} if isinstance(form, AssignForm) else {"answer_form": form}
        return _staff_detail(suggestion, status=400, **kwargs)
    try:
        action(suggestion)  # the service commits its own unit of work
    except RuleViolation as violation:
        return violation_page(
            violation, lambda error: _staff_page(_suggestion_or_404(suggestion_id), error=error), inline=True
        )
    flash(success, "success")
    return redirect(url_for(".manage_detail", suggestion_id=suggestion_id))


@bp.route("/manage/<id:suggestion_id>/assign", methods=["POST"])
@roles_required(Role.STAFF)
def manage_assign(suggestion_id: int):
    form = AssignForm()
    form.bureau.choices = [(b.id, b.name) for b in _bureaus()]
    return _act(
        suggestion_id,
        lambda s: service.assign(s, form.bureau.data, current_user),
        form,
        _("The suggestion has been assigned."),
    )


@bp.route("/manage/<id:suggestion_id>/answer", methods=["POST"])
@roles_required(Role.STAFF)
def manage_answer(suggestion_id: int):
    form = AnswerForm()
    return _act(
        suggestion_id,
        lambda s: service.answer(s, form.answer.data, current_user),
        form,
        _("The answer has been saved."),
    )


@bp.route("/manage/<id:suggestion_id>/close", methods=["POST"])
@roles_required(Role.STAFF)
def manage_close(suggestion_id: int):
    form = CloseForm()
    if not form.validate_on_submit():
        abort(400)
    return _act(suggestion_id, lambda s: service.close(s, current_user), None, _("The suggestion has been closed."))


@bp.route("/manage/report")
@roles_required(Role.STAFF)
def manage_report():
    return render_template("suggestions/report.html", report=service.report(), buckets=service.AGE_BUCKETS)

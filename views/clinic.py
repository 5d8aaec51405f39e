"""Legal-clinic bookings by residents, and the bookings list for clinic staff."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import orm
from wtforms import EmailField, HiddenField, RadioField, SelectField, StringField, SubmitField, TelField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from access import roles_required
from extensions import limiter
from i18n import current_language
from inputs import coerce_id, id_field, page_arg
from models import (
    BookingStatus,
    ClinicBooking,
    ClinicSlot,
    Occurrence,
    OccurrenceStatus,
    Programme,
    ProgrammeKind,
    Role,
    db,
    utcnow,
)
from responses import violation_page
from scheduler import operations
from services import clinic, recovery
from services.errors import RuleViolation
from services.validation import normalise_phone

bp = Blueprint("clinic", __name__, url_prefix="/legal-clinic/book")
LAST_BOOKING = "clinic_booking"


def _required(label):
    return DataRequired(message=_l("Please fill in: %(field)s.", field=label))


def _too_long(label, maximum):
    return Length(
        max=maximum, message=_l("%(field)s is too long: at most %(max)d characters.", field=label, max=maximum)
    )


class BookingForm(FlaskForm):
    slot = RadioField(
        _l("Time"),
        coerce=coerce_id,
        validate_choice=False,
        validators=[InputRequired(message=_l("Please choose a time."))],
    )
    name = StringField(
        _l("Your name"),
        validators=[_required(_l("Your name")), _too_long(_l("Your name"), 100)],
        render_kw={"autocomplete": "name", "maxlength": 100},
    )
    phone = TelField(
        _l("Phone number"),
        validators=[_required(_l("Phone number")), _too_long(_l("Phone number"), 32)],
        render_kw={"autocomplete": "tel", "maxlength": 32},
        description=_l("Used only to confirm or change your booking; seen only by clinic staff."),
    )
    email = EmailField(
        _l("Email (optional)"),
        validators=[_too_long(_l("Email (optional)"), 254)],
        render_kw={"autocomplete": "email", "maxlength": 254, "inputmode": "email"},
        description=_l("For the confirmation with a calendar entry, and if the session changes."),
    )
    language = SelectField(_l("Language of the consultation"))
    topic = TextAreaField(
        _l("What would you like advice on?"),
        validators=[_too_long(_l("What would you like advice on?"), clinic.TOPIC_MAX)],
        description=_l("Optional. A few words help the lawyer prepare."),
    )
    submit = SubmitField(_l("Book this time"))


class CancelForm(FlaskForm):
    reference = StringField(
        _l("Reference code"),
        validators=[_required(_l("Reference code")), _too_long(_l("Reference code"), 40)],
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"},
    )
    phone = TelField(
        _l("Phone number used for the booking"),
        validators=[_required(_l("Phone number")), _too_long(_l("Phone number"), 32)],
        render_kw={"autocomplete": "tel"},
    )
    submit = SubmitField(_l("Cancel the booking"))


class SessionCancelForm(FlaskForm):
    reason = StringField(
        _l("Reason (shown in calendars)"),
        validators=[Optional(), _too_long(_l("Reason (shown in calendars)"), 200)],
        render_kw={"maxlength": 200},
    )
    expected = HiddenField(validators=[InputRequired(), Length(max=6)])
    submit = SubmitField(_l("Cancel the session and tell them"))


def _clinic_session(occurrence_id: int) -> Occurrence:
    occurrence = db.session.scalar(
        sa.select(Occurrence)
        .join(Programme)
        .where(Occurrence.id == occurrence_id, Programme.kind == ProgrammeKind.LEGAL_CLINIC)
        .options(orm.joinedload(Occurrence.venue))
    )
    if occurrence is None:
        abort(404)
    return occurrence


def _language_choices(occurrence: Occurrence) -> list[tuple[str, str]]:
    choices = [("zh_CN", _("Chinese"))]
    if occurrence.bilingual:
        choices.append(("en", _("English")))
    return choices


@bp.route("/")
def index():
    return redirect(url_for("public.legal_clinic"))


@bp.route("/<id:occurrence_id>", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def book(occurrence_id: int):
    occurrence = _clinic_session(occurrence_id)
    form = BookingForm()
    form.language.choices = _language_choices(occurrence)
    if request.method == "GET":
        form.language.data = "en" if occurrence.bilingual and current_language() == "en" else "zh_CN"

    def page(error=None):
        slots = clinic.bookable_slots(occurrence) if occurrence.status is OccurrenceStatus.SCHEDULED else []
        return render_template(
            "clinic/book.html",
            occurrence=occurrence,
            form=form,
            slots=slots,
            error=error,
            is_past=occurrence.ends_at <= utcnow(),
        )

    if form.validate_on_submit():
        try:
            booking = clinic.book(
                form.slot.data,
                form.name.data,
                form.phone.data,
                form.topic.data or "",
                form.language.data,
                occurrence_id=occurrence.id,
                email=form.email.data or "",
                locale=current_language(),
            )
        except RuleViolation as violation:
            return violation_page(violation, page, inline=True)
        session[LAST_BOOKING] = booking.reference
        return redirect(url_for(".confirmation"))
    return page(), 400 if request.method == "POST" else 200


@bp.route("/confirmation")
def confirmation():
    reference = session.get(LAST_BOOKING)
    booking = None
    if reference:
        booking = db.session.scalar(
            sa.select(ClinicBooking)
            .where(ClinicBooking.reference == reference)
            .options(orm.joinedload(ClinicBooking.slot).joinedload(ClinicSlot.occurrence).joinedload(Occurrence.venue))
        )
    if booking is None:
        return redirect(url_for("public.legal_clinic"))
    return render_template("clinic/confirmation.html", booking=booking)


@bp.route("/cancel", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def cancel():
    form = CancelForm()
    if request.method == "GET" and request.args.get("reference"):
        form.reference.data = request.args["reference"][:40]

    def page(error=None):
        return render_template("clinic/cancel.html", form=form, error=error)

    if form.validate_on_submit():
        try:
            booking = clinic.cancel(form.reference.data, form.phone.data)
        except RuleViolation as violation:
            return violation_page(violation, page, inline=True)
        session.pop(LAST_BOOKING, None)
        return render_template("clinic/cancelled.html", booking=booking)
    return page(), 400 if request.method == "POST" else 200


# ---------------------------------------------------------------- clinic staff


@bp.after_request
def _no_store_for_staff(response):
    if request.endpoint and request.endpoint.startswith(("clinic.manage", "clinic.find", "clinic.my_bookings")):
        response.headers["Cache-Control"] = "no-store"  # names and phone numbers
    return response


@bp.route("/manage")
@roles_required(Role.STAFF)
def manage():
    page = db.paginate(
        sa.select(Occurrence)
        .join(Programme)
        .where(Programme.kind == ProgrammeKind.LEGAL_CLINIC, Occurrence.ends_at >= utcnow())
        .options(orm.joinedload(Occurrence.venue))
        .order_by(Occurrence.starts_at, Occurrence.id),
        page=page_arg(),
        per_page=30,
    )
    counts = {
        occurrence_id: (booked, capacity)
        for occurrence_id, booked, capacity in db.session.execute(
            sa.select(ClinicSlot.occurrence_id, sa.func.sum(ClinicSlot.booked_count), sa.func.sum(ClinicSlot.capacity))
            .where(ClinicSlot.occurrence_id.in_([o.id for o in page.items]))
            .group_by(ClinicSlot.occurrence_id)
        )
    }
    return render_template("clinic/manage.html", page=page, counts=counts)


@bp.route("/manage/<id:occurrence_id>")
@roles_required(Role.STAFF)
def manage_session(occurrence_id: int):
    occurrence = _clinic_session(occurrence_id)
    bookings = clinic.bookings_for(occurrence)
    return render_template(
        "clinic/manage_session.html",
        occurrence=occurrence,
        bookings=bookings,
        booked=BookingStatus.BOOKED,
        notices=clinic.notice_status(bookings),
    )


@bp.route("/manage/<id:occurrence_id>/cancel", methods=["GET", "POST"])
@roles_required(Role.STAFF)
def manage_cancel(occurrence_id: int):
    """Cancel a clinic session: first the count of residents who will be told, then the cancel (POST).

    The confirming form carries the count the staff member saw; if bookings came or went meanwhile,
    the page shows the new count again instead of cancelling (409)."""
    occurrence = _clinic_session(occurrence_id)
    form = SessionCancelForm()
    count = clinic.count_active_bookings(occurrence.id)

    def page(error=None, status=200):
        return render_template(
            "clinic/manage_cancel.html", occurrence=occurrence, form=form, count=count, error=error
        ), status

    if occurrence.status is OccurrenceStatus.CANCELLED:
        return redirect(url_for(".manage_session", occurrence_id=occurrence.id), code=303)
    if request.method == "GET":
        form.expected.data = count
        return page()
    if not form.validate_on_submit():
        return page(status=400)
    if form.expected.data != str(count):
        form.expected.data = count
        return page(_("The number of bookings changed while you were deciding. Please check it again."), 409)
    try:
        operations.cancel_occurrence(current_user, occurrence, reason=(form.reason.data or "").strip())
    except RuleViolation as violation:
        return violation_page(violation, lambda error=None: page(error)[0], inline=True)
    flash(_("Session cancelled. %(count)d booked residents are being told.", count=count), "success")
    return redirect(url_for(".manage_session", occurrence_id=occurrence.id), code=303)


# --------------------------------------------------------------- find my booking

RECOVERY_TICKET = "clinic_recovery"


def _phone_key() -> str:
    """Rate-limit key per phone number (normalised, so spacing does not give new tries)."""
    raw = (request.form.get("phone") or "")[:40]
    try:
        return "phone:" + normalise_phone(raw)
    except RuleViolation:
        return "phone:?" + raw


class FindForm(FlaskForm):
    phone = TelField(
        _l("Phone number used for the booking"),
        validators=[_required(_l("Phone number")), _too_long(_l("Phone number"), 32)],
        render_kw={"autocomplete": "tel", "maxlength": 32},
    )
    submit = SubmitField(_l("Send me a code"))


class CodeForm(FlaskForm):
    code = StringField(
        _l("Code from the text message"),
        validators=[_required(_l("Code from the text message")), _too_long(_l("Code from the text message"), 12)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "maxlength": 12},
    )
    submit = SubmitField(_l("Show my bookings"))


@bp.route("/find", methods=["GET", "POST"])
@limiter.limit("5 per minute;20 per hour", methods=["POST"])
@limiter.limit("3 per 10 minutes;6 per day", methods=["POST"], key_func=_phone_key)
def find():
    form = FindForm()

    def page(error=None):
        return render_template("clinic/find.html", form=form, error=error)

    if form.validate_on_submit():
        try:
            ticket = recovery.request_code(form.phone.data)
        except RuleViolation as violation:
            return violation_page(violation, page, inline=True)
        session[RECOVERY_TICKET] = ticket
        return redirect(url_for(".find_code"), code=303)
    return page(), 400 if request.method == "POST" else 200


@bp.route("/find/code", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def find_code():
    form = CodeForm()
    ticket = session.get(RECOVERY_TICKET)
    if not ticket:
        return redirect(url_for(".find"))

    def page(error=None):
        return render_template("clinic/find_code.html", form=form, error=error, minutes=recovery.CODE_MINUTES)

    if form.validate_on_submit():
        try:
            recovery.verify(ticket, form.code.data)
        except RuleViolation as violation:
            return violation_page(violation, page, inline=True)
        return redirect(url_for(".my_bookings"), code=303)
    return page(), 400 if request.method == "POST" else 200


@bp.route("/mine", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def my_bookings():
    phone = recovery.verified_phone(session.get(RECOVERY_TICKET))
    if phone is None:
        return redirect(url_for(".find"))
    error, status = None, 200
    if request.method == "POST":
        form = FlaskForm()
        if not form.validate_on_submit():
            abort(400)
        try:
            clinic.cancel_mine(id_field("booking_id"), phone)
        except RuleViolation as violation:
            error, status = violation.message, violation.status
        else:
            flash(_("The booking was cancelled."), "success")
            return redirect(url_for(".my_bookings"), code=303)
    response = render_template("clinic/mine.html", bookings=recovery.upcoming_bookings(phone), error=error)
    return response, status

"""Forms of the schedule administration pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TimeField,
    ValidationError,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from inputs import DateField, IntegerField, coerce_id
from models import HolidayPolicy, OverrideKind, SeriesPattern
from scheduler.rules import RuleError, parse_rrule
from timeutil import local_today

WEEKDAY_LABELS = [
    _l("Monday"),
    _l("Tuesday"),
    _l("Wednesday"),
    _l("Thursday"),
    _l("Friday"),
    _l("Saturday"),
    _l("Sunday"),
]


def options(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


RULE_ERRORS = {
    "one_line": _l("Write one rule without a DTSTART, e.g. FREQ=MONTHLY;BYDAY=2SU."),
    "invalid": _l("Not a valid recurrence rule (RFC 5545), e.g. FREQ=MONTHLY;BYDAY=2SU."),
    "frequency": _l("The frequency must be DAILY, WEEKLY, MONTHLY or YEARLY."),
}


def _ends_after(start_field: str):
    def check(form, field):
        start = getattr(form, start_field).data
        if field.data and start and field.data < start:
            raise ValidationError(_l("The end date must not be before the start date."))

    return check


class SeriesForm(FlaskForm):
    programme_id = SelectField(_l("Programme"), coerce=coerce_id, validators=[InputRequired()])
    name_zh = StringField(_l("Name (Chinese)"), validators=[DataRequired(), Length(max=200)])
    name_en = StringField(_l("Name (English)"), validators=[DataRequired(), Length(max=200)])
    pattern = SelectField(
        _l("Rule"),
        choices=options(
            [
                (SeriesPattern.RRULE.value, _l("Recurrence rule (RRULE)")),
                (
                    SeriesPattern.COURT_DAYS.value,
                    _l("Court days: weekends and public holidays, not make-up working days"),
                ),
            ]
        ),
    )
    rrule = StringField(
        _l("RRULE"),
        validators=[Length(max=200)],
        description=_l("e.g. FREQ=MONTHLY;BYDAY=2SU for the second Sunday of every month"),
    )
    holiday_policy = SelectField(
        _l("When a date is a public holiday"),
        choices=options(
            [
                (HolidayPolicy.KEEP.value, _l("Keep it (flagged to the admin)")),
                (HolidayPolicy.NEXT_SUNDAY.value, _l("Move it to the next ordinary Sunday")),
                (HolidayPolicy.SKIP.value, _l("Skip it (published as cancelled)")),
            ]
        ),
    )
    starts_on = DateField(_l("Starts on"), validators=[InputRequired()])
    ends_on = DateField(_l("Ends on"), validators=[Optional(), _ends_after("starts_on")])
    active = BooleanField(_l("Active"), default=True)
    submit = SubmitField(_l("Save"))

    def validate_rrule(self, field):
        if self.pattern.data != SeriesPattern.RRULE.value:
            return
        if not field.data:
            raise ValidationError(_l("A recurrence rule is required for this kind of series."))
        try:
            parse_rrule(field.data, self.starts_on.data or local_today())
        except RuleError as exc:
            raise ValidationError(RULE_ERRORS.get(exc.code, RULE_ERRORS["invalid"])) from None


class SiteForm(FlaskForm):
    community_id = SelectField(_l("Community"), coerce=int, validators=[Optional()])
    venue_id = SelectField(_l("Venue"), coerce=coerce_id, validators=[InputRequired()])
    local_start = TimeField(_l("Starts at (local time)"), validators=[InputRequired()])
    local_end = TimeField(_l("Ends at (local time)"), validators=[InputRequired()])
    capacity = IntegerField(
        _l("Capacity"),
        validators=[Optional(), NumberRange(min=0, max=100000)],
        description=_l("Leave empty to use the venue's capacity."),
    )
    bilingual = BooleanField(_l("Bilingual (Chinese and English)"))
    active = BooleanField(_l("Active"), default=True)
    officials = MultiCheckboxField(_l("Officials who attend"), coerce=coerce_id, validators=[Optional()])
    submit = SubmitField(_l("Save"))

    def validate_local_end(self, field):
        if field.data and self.local_start.data and field.data <= self.local_start.data:
            raise ValidationError(_l("The end time must be after the start time."))


class MoveForm(FlaskForm):
    day = DateField(_l("New date"), validators=[InputRequired()])
    start = TimeField(_l("Starts at (local time)"), validators=[InputRequired()])
    end = TimeField(_l("Ends at (local time)"), validators=[InputRequired()])
    note = StringField(_l("Note for the public (optional)"), validators=[Optional(), Length(max=300)])
    submit = SubmitField(_l("Move"))

    def validate_end(self, field):
        if field.data and self.start.data and field.data <= self.start.data:
            raise ValidationError(_l("The end time must be after the start time."))


class CancelForm(FlaskForm):
    reason = StringField(_l("Reason, shown to the public (optional)"), validators=[Optional(), Length(max=300)])
    submit = SubmitField(_l("Cancel this occurrence"))


class OverrideForm(FlaskForm):
    day = DateField(_l("Date"), validators=[InputRequired()])
    kind = SelectField(
        _l("The day is"),
        choices=options(
            [
                (OverrideKind.HOLIDAY.value, _l("A holiday (courts sit)")),
                (OverrideKind.WORKDAY.value, _l("A working day (courts do not sit)")),
            ]
        ),
    )
    reason = StringField(
        _l("Reason"),
        validators=[DataRequired(), Length(max=200)],
        description=_l("e.g. the State Council notice, or the holiday's name"),
    )
    submit = SubmitField(_l("Add override"))


class ConfirmForm(FlaskForm):
    """A button that only carries the CSRF token."""

    submit = SubmitField(_l("Remove"))


class TemplateForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    weekdays = MultiCheckboxField(_l("Days of the week"), coerce=int, choices=options(enumerate(WEEKDAY_LABELS)))
    local_start = TimeField(_l("Starts at (local time)"), validators=[InputRequired()])
    local_end = TimeField(
        _l("Ends at (local time)"),
        validators=[InputRequired()],
        description=_l("An end at or before the start means the next day, e.g. 22:00–02:00."),
    )
    area_zh = StringField(_l("Area or route (Chinese)"), validators=[Optional(), Length(max=200)])
    area_en = StringField(_l("Area or route (English)"), validators=[Optional(), Length(max=200)])
    min_volunteers = IntegerField(_l("Minimum volunteers"), validators=[InputRequired(), NumberRange(min=0, max=100)])
    max_volunteers = IntegerField(_l("Maximum volunteers"), validators=[InputRequired(), NumberRange(min=1, max=100)])
    valid_from = DateField(_l("Valid from"), validators=[InputRequired()])
    valid_until = DateField(_l("Valid until"), validators=[Optional(), _ends_after("valid_from")])
    active = BooleanField(_l("Active"), default=True)
    submit = SubmitField(_l("Save"))

    def validate_weekdays(self, field):
        if not field.data:
            raise ValidationError(_l("Choose at least one day."))

    def validate_local_end(self, field):
        if field.data and self.local_start.data and field.data == self.local_start.data:
            raise ValidationError(_l("A shift cannot end when it starts."))

    def validate_max_volunteers(self, field):
        if field.data is not None and self.min_volunteers.data is not None and field.data < self.min_volunteers.data:
            raise ValidationError(_l("The maximum must be at least the minimum."))


class HearingForm(FlaskForm):
    case_number = StringField(
        _l("Case number"),
        validators=[DataRequired(), Length(max=64)],
        description=_l("As on court papers, e.g. (2026)苏0591民初1234号"),
    )
    cause_zh = StringField(_l("Cause of action (Chinese)"), validators=[DataRequired(), Length(max=200)])
    cause_en = StringField(_l("Cause of action (English)"), validators=[Optional(), Length(max=200)])
    start = TimeField(_l("Starts at (local time)"), validators=[InputRequired()])
    end = TimeField(_l("Ends at (local time)"), validators=[InputRequired()])
    bilingual = BooleanField(_l("Bilingual hearing"))
    submit = SubmitField(_l("Add hearing notice"))

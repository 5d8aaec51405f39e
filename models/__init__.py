"""The domain model, one module per domain; import from here."""

from .audit import AuditLog, record
from .base import UTCDateTime, db, new_uid, utcnow
from .clinic import BookingRecoveryCode, BookingStatus, ClinicBooking, ClinicSlot
from .feeds import FeedKind, FeedSnapshot, FeedToken, new_feed_token
from .notifications import Notification, NotificationKind, NotificationStatus
from .outbox import OutboxChannel, OutboxMessage, OutboxStatus
from .places import AreaKind, Community, CommunityArea, Subdistrict, Venue, VenueKind
from .plans import Plan, PlanEntry, PlanStatus, Qualification, TemplateRequirement, VolunteerQualification
from .programmes import (
    PUBLIC_PROGRAMME_KINDS,
    Bureau,
    HearingNotice,
    HolidayOverride,
    HolidayPolicy,
    HolidayYear,
    Occurrence,
    OccurrenceStatus,
    OverrideKind,
    Programme,
    ProgrammeKind,
    Series,
    SeriesPattern,
    SeriesSite,
    occurrence_officials,
    public_kind,
    public_programmes,
    series_site_officials,
)
from .shifts import (
    ALL_WEEKDAYS,
    Assignment,
    AssignmentStatus,
    Attendance,
    Shift,
    ShiftStatus,
    ShiftTemplate,
    SwapRequest,
    SwapStatus,
    Unavailability,
)
from .suggestions import Suggestion, SuggestionStatus
from .teams import MembershipRole, PatrolTeam, TeamKind, TeamMembership, member_label
from .trades import (
    ACTIVE_TRADE,
    ACTIVE_WAITLIST,
    TradeOffer,
    TradeStatus,
    WaitlistEntry,
    WaitlistStatus,
)
from .users import (
    PASSWORD_MAX_LENGTH,
    PASSWORD_MIN_LENGTH,
    ApiToken,
    LoginSession,
    Role,
    User,
    normalise_email,
    password_acceptable,
)

__all__ = [name for name in dir() if not name.startswith("_")]

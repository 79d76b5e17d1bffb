"""Activities' writes, one module per part of the domain: the lifecycle, enrolment with a waiting
list, the check-in code, check-in and check-out by phone, attendance by hand, points, leave,
minutes and photos, and erasure.

Each service runs in a transaction and raises a DomainError with a code from API.md; events leave
with `emit()` after commit. Callers import from here (`backend.activities.services.enroll`);
every name below is defined in exactly one module of the package, and no module of the package
bears the name of a service (the tasks of the same names are only ever reached as `tasks.<name>`).
"""

from __future__ import annotations

from .attendance import record_attendance
from .checkin import CheckInResult, check_in, check_out
from .codes import TOKEN_SALT, CheckinCode, checkin_token, issue_checkin_code, verify_token
from .enrollment import EnrollmentResult, enroll, withdraw
from .erasure import erase_personal_data
from .leave import (
    LeaveResult,
    approve_leave,
    end_leave_of_former_member,
    reject_leave,
    request_leave,
    require_leave_audience,
    require_leave_decider,
)
from .lifecycle import (
    EARLIEST_YEAR,
    EDITABLE_FIELDS,
    LATEST_YEAR,
    cancel_activity,
    create_activity,
    finish_activity,
    finish_due_activities,
    publish_activity,
    require_may_create,
    update_activity,
    validate_activity,
)
from .points import award_attendance_points
from .records import (
    MAX_MINUTES_ATTACHMENTS,
    MAX_PHOTOS_PER_ACTIVITY,
    MAX_PHOTOS_PER_REQUEST,
    attach_photos,
    check_minutes_open,
    record_minutes,
)

__all__ = [
    "EARLIEST_YEAR",
    "EDITABLE_FIELDS",
    "LATEST_YEAR",
    "MAX_MINUTES_ATTACHMENTS",
    "MAX_PHOTOS_PER_ACTIVITY",
    "MAX_PHOTOS_PER_REQUEST",
    "TOKEN_SALT",
    "CheckInResult",
    "CheckinCode",
    "EnrollmentResult",
    "LeaveResult",
    "approve_leave",
    "attach_photos",
    "award_attendance_points",
    "cancel_activity",
    "check_in",
    "check_minutes_open",
    "check_out",
    "checkin_token",
    "create_activity",
    "end_leave_of_former_member",
    "enroll",
    "erase_personal_data",
    "finish_activity",
    "finish_due_activities",
    "issue_checkin_code",
    "publish_activity",
    "record_attendance",
    "record_minutes",
    "reject_leave",
    "request_leave",
    "require_leave_audience",
    "require_leave_decider",
    "require_may_create",
    "update_activity",
    "validate_activity",
    "verify_token",
    "withdraw",
]

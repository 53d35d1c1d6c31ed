"""SQLAlchemy 2 models, split by domain; ``Base.metadata`` is what the migrations track."""

from bordin.storage.models._base import Base, UTCDateTime, utcnow
from bordin.storage.models.audit import AuditChainHead, AuditEvent
from bordin.storage.models.care import Client, Episode, MissedSession, TherapySession
from bordin.storage.models.clinic_pages import ImportUpload, PasswordReset
from bordin.storage.models.content import ContentPack
from bordin.storage.models.feedback import Alert, FeedbackShown, NormsSnapshot, Score, Signal
from bordin.storage.models.forms import FormRequest, ItemResponse
from bordin.storage.models.limits import LoginLockout, RateLimitCount
from bordin.storage.models.organisation import ROLES, Clinic, LoginSession, Role, Team, User

__all__ = [
    "Alert",
    "AuditChainHead",
    "AuditEvent",
    "Base",
    "Client",
    "Clinic",
    "ContentPack",
    "Episode",
    "FeedbackShown",
    "FormRequest",
    "ImportUpload",
    "ItemResponse",
    "LoginLockout",
    "LoginSession",
    "MissedSession",
    "NormsSnapshot",
    "PasswordReset",
    "ROLES",
    "RateLimitCount",
    "Role",
    "Score",
    "Signal",
    "Team",
    "TherapySession",
    "UTCDateTime",
    "User",
    "utcnow",
]

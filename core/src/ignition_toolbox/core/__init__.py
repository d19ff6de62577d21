"""Ignition Toolbox core: playbooks, the executor and the plugin contract."""

from .context import ExecutionContext, StepContext
from .credentials import Credential, CredentialResolver, MappingCredentials, no_credentials
from .errors import (
    CredentialNotFoundError,
    ExecutionNotFoundError,
    InvalidPathError,
    InvalidTransitionError,
    PermissionDeniedError,
    PlaybookNotFoundError,
    PluginConflictError,
    RateLimitedError,
    StepFailedError,
    StepTimeoutError,
    ToolboxError,
    UnauthorizedError,
    ValidationError,
)
from .events import (
    ArtifactEvent,
    Event,
    EventSink,
    ExecutionStateEvent,
    LogEvent,
    ScreenshotFrameEvent,
    StepResultEvent,
)
from .executor import TERMINAL, Execution, StepResult
from .files import atomic_write
from .hookspecs import hookimpl
from .library import LibraryEntry, PlaybookLibrary, slugify, validate_relative_path
from .origins import Binding, Origin, OriginError, parse_origin, same_origin
from .playbook import Parameter, Playbook, Step, coerce_parameters, parse_playbook
from .plugins import PluginInfo, PluginManager
from .schema import playbook_schema
from .secrets import REDACTED, Secret, SecretOriginError, Secrets, SecretUseError, reveal
from .steps import PlaybookRoot, ResourceType, StepType, closed_object, object_output

__version__ = "0.1.0"

__all__ = [
    "REDACTED",
    "TERMINAL",
    "ArtifactEvent",
    "Binding",
    "Credential",
    "CredentialNotFoundError",
    "CredentialResolver",
    "Event",
    "EventSink",
    "Execution",
    "ExecutionContext",
    "ExecutionNotFoundError",
    "ExecutionStateEvent",
    "InvalidPathError",
    "InvalidTransitionError",
    "LibraryEntry",
    "LogEvent",
    "MappingCredentials",
    "Origin",
    "OriginError",
    "Parameter",
    "PermissionDeniedError",
    "Playbook",
    "PlaybookLibrary",
    "PlaybookNotFoundError",
    "PlaybookRoot",
    "PluginConflictError",
    "PluginInfo",
    "PluginManager",
    "RateLimitedError",
    "ResourceType",
    "ScreenshotFrameEvent",
    "Secret",
    "SecretOriginError",
    "SecretUseError",
    "Secrets",
    "Step",
    "StepContext",
    "StepFailedError",
    "StepResult",
    "StepResultEvent",
    "StepTimeoutError",
    "StepType",
    "ToolboxError",
    "UnauthorizedError",
    "ValidationError",
    "atomic_write",
    "closed_object",
    "coerce_parameters",
    "hookimpl",
    "no_credentials",
    "object_output",
    "parse_origin",
    "parse_playbook",
    "playbook_schema",
    "reveal",
    "same_origin",
    "slugify",
    "validate_relative_path",
]

"""Settings, composed from one env-driven module per concern.

Every knob is read from the environment (or `.env`); `.env.example` lists them with defaults.
"""

from .api import *  # noqa: F403
from .auth import *  # noqa: F403
from .base import *  # noqa: F403
from .celery import *  # noqa: F403
from .domains import *  # noqa: F403
from .oauth import *  # noqa: F403
from .observability import *  # noqa: F403
from .security import *  # noqa: F403
from .stripe import *  # noqa: F403
from .tenancy import *  # noqa: F403
from .timeouts import *  # noqa: F403
from .webhooks import *  # noqa: F403

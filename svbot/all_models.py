"""Import every module that defines tables, so Alembic and tests see the whole schema."""

from svbot import evidence, models, monitoring  # noqa: F401
from svbot.dashboard import models as dashboard_models  # noqa: F401
from svbot.deadlines import models as deadlines_models  # noqa: F401
from svbot.delivery import models as delivery_models  # noqa: F401
from svbot.privacy import models as privacy_models  # noqa: F401
from svbot.support import models as support_models  # noqa: F401

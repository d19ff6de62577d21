"""HTTP routes, one blueprint per resource; every endpoint is declared in permissions.ROUTES."""

from .audit import blueprint as audit_blueprint
from .credentials import blueprint as credentials_blueprint
from .executions import blueprint as executions_blueprint
from .health import blueprint as health_blueprint
from .keys import blueprint as keys_blueprint
from .maintenance import blueprint as maintenance_blueprint
from .meta import blueprint as meta_blueprint
from .modules import blueprint as modules_blueprint
from .playbooks import blueprint as playbooks_blueprint

BLUEPRINTS = (
    health_blueprint,
    meta_blueprint,
    playbooks_blueprint,
    executions_blueprint,
    credentials_blueprint,
    keys_blueprint,
    audit_blueprint,
    modules_blueprint,
    maintenance_blueprint,
)

__all__ = ["BLUEPRINTS"]

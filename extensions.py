"""Extensions are created bare here and bound in the application factory."""

from flask_babel import Babel
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
compress = Compress()  # gzip for pages, CSS, JSON; feeds gzip their cached bodies themselves
limiter = Limiter(key_func=get_remote_address, default_limits=[])

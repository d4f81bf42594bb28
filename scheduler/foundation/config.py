"""Settings from environment variables, each with a safe local default.

No variable set means: SQLite under instance/, mail written to files,
payments taken by hand at the front desk ("manual"), links on http://127.0.0.1:$PORT.
"""

import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def instance_dir() -> Path:
    """Where local state lives (SQLite file, secret key, mail files): SCHEDULER_INSTANCE_DIR, else instance/.

    Read at each call, so that the test suite can point every app and subprocess elsewhere.
    """
    return Path(os.environ.get("SCHEDULER_INSTANCE_DIR") or ROOT / "instance")


# What the pages say when the clinic has not said otherwise (see README, "Configuration").
DEFAULT_PAYMENT_INSTRUCTIONS = (
    "Call or visit the front desk to pay by card, cash or check, and mention your reference "
    "so that we can match your payment to your place."
)
DEFAULT_REFUND_POLICY_NOTE = (
    "The groups are small, so a place given up close to the start can rarely be offered to someone else in time."
)
STRIPE_JS_URL = "https://js.stripe.com/v3/"


def normalise_database_url(url: str) -> str:
    """Accept the postgres:// URLs hosting platforms hand out; use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}.") from None


def _locale() -> str:
    from .money import DEFAULT_LOCALE, valid_locale

    name = os.environ.get("CLINIC_LOCALE") or DEFAULT_LOCALE
    if not valid_locale(name):
        raise ValueError(f"CLINIC_LOCALE must be a locale such as en_US or fr_FR, not {name!r}.")
    return name


def _clinic_timezone() -> str:
    """CLINIC_TIMEZONE: the zone the console shows times in where nothing else decides (staff
    activity, a clinician's week with nothing booked); an IANA name."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = os.environ.get("CLINIC_TIMEZONE") or "America/New_York"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"CLINIC_TIMEZONE must be a time zone such as America/Chicago, not {name!r}.") from None
    return name


def _retention_days() -> int:
    """RETENTION_DAYS: erase personal data this many days after a cohort ended; 0 (the default) keeps it."""
    days = _int("RETENTION_DAYS", 0)
    if days < 0:
        raise ValueError(f"RETENTION_DAYS must be 0 (keep everything) or a number of days, not {days}.")
    return days


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one kept in instance/ so restarts agree."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = instance_dir() / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def is_production() -> bool:
    """SCHEDULER_ENV (or FLASK_ENV) says so, or a DATABASE_URL is set (a deployment, not `make run`).

    SCHEDULER_ENV=development says otherwise, for a developer pointing at a local PostgreSQL.
    """
    declared = (os.environ.get("SCHEDULER_ENV") or os.environ.get("FLASK_ENV") or "").strip().lower()
    if declared:
        return declared == "production"
    return bool(os.environ.get("DATABASE_URL"))


def _public_base_url() -> str:
    """PUBLIC_BASE_URL, else the address `make run` serves (HOST, default 127.0.0.1, on PORT): links
    must name the very host the browser uses, or the sign-in cookie set there seems lost."""
    host = os.environ.get("HOST", "").strip()
    if host in ("", "0.0.0.0", "::"):  # every interface: this machine's own address reaches it
        host = "127.0.0.1"
    url = os.environ.get("PUBLIC_BASE_URL") or f"http://{host}:{_int('PORT', 5000)}"
    return url.rstrip("/")


def from_environment() -> dict:
    """The configuration for a running service."""
    production = is_production()
    return {
        "PRODUCTION": production,
        "SECRET_KEY_FROM_ENVIRONMENT": bool(os.environ.get("SECRET_KEY")),
        "SECRET_KEY": _secret_key(),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(
            os.environ.get("DATABASE_URL") or f"sqlite:///{instance_dir() / 'scheduler.db'}"
        ),
        "PUBLIC_BASE_URL": _public_base_url(),
        "CLINIC_NAME": os.environ.get("CLINIC_NAME", "Your clinic"),
        # Receipts print the clinic's address and, when it has one, its tax id.
        "CLINIC_ADDRESS": os.environ.get("CLINIC_ADDRESS", ""),
        "CLINIC_TAX_ID": os.environ.get("CLINIC_TAX_ID", ""),
        # How money reads in emails, pages and receipts (Babel locale: en_US, fr_FR, de_CH …).
        "CLINIC_LOCALE": _locale(),
        "CLINIC_TIMEZONE": _clinic_timezone(),
        # Session edits within this many minutes reach each person as one email.
        "CHANGE_NOTICE_DELAY_MINUTES": _int("CHANGE_NOTICE_DELAY_MINUTES", 10),
        # A seat staff hold for someone is told after this delay, so enrol-then-confirm sends one email.
        "STAFF_NOTICE_DELAY_SECONDS": _int("STAFF_NOTICE_DELAY_SECONDS", 120),
        "CLINIC_PHONE": os.environ.get("CLINIC_PHONE", ""),
        # The clinic's National Provider Identifier, on the statement of services (superbill).
        "CLINIC_NPI": os.environ.get("CLINIC_NPI", ""),
        "CLINIC_EMAIL": os.environ.get("CLINIC_EMAIL", ""),
        "PAYMENT_INSTRUCTIONS": os.environ.get("PAYMENT_INSTRUCTIONS") or DEFAULT_PAYMENT_INSTRUCTIONS,
        "REFUND_POLICY_NOTE": os.environ.get("REFUND_POLICY_NOTE", DEFAULT_REFUND_POLICY_NOTE),
        "STRIPE_JS_URL": os.environ.get("STRIPE_JS_URL") or STRIPE_JS_URL,
        # Cookies (the participant's page cookie, the CSRF session) only over https when links are https.
        "SESSION_COOKIE_SECURE": os.environ.get("PUBLIC_BASE_URL", "").startswith("https://"),
        "MAIL_URL": os.environ.get("MAIL_URL", ""),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "Group programs <groups@localhost>"),
        "MAIL_DIR": os.environ.get("MAIL_DIR", str(instance_dir() / "mail")),
        "REMINDER_HOURS": _int("REMINDER_HOURS", 24),
        "RETENTION_DAYS": _retention_days(),
        "JOIN_OPENS_MINUTES": _int("JOIN_OPENS_MINUTES", 15),
        # An assessment slot can be booked until this long before it starts.
        "ASSESSMENT_NOTICE_MINUTES": _int("ASSESSMENT_NOTICE_MINUTES", 120),
        "DB_LOCK_TIMEOUT_SECONDS": _int("DB_LOCK_TIMEOUT_SECONDS", 10),
        # Judge deadlines and leases by PostgreSQL's clock (foundation/clock.py), so that
        # machines whose clocks differ agree; "false" trusts this machine's clock.
        "CLOCK_FROM_DATABASE": os.environ.get("CLOCK_FROM_DATABASE", "true").lower() != "false",
        # How long a worker's claim on a message holds before another worker may take it over.
        "OUTBOX_LEASE_SECONDS": _int("OUTBOX_LEASE_SECONDS", 300),
        # The first wait before a message the mail server put off (4xx) is tried again; it doubles.
        "OUTBOX_RETRY_BASE_SECONDS": _int("OUTBOX_RETRY_BASE_SECONDS", 60),
        "MAIL_TIMEOUT": _int("MAIL_TIMEOUT", 30),
        "STRIPE_SECRET_KEY": os.environ.get("STRIPE_SECRET_KEY", ""),
        "STRIPE_PUBLISHABLE_KEY": os.environ.get("STRIPE_PUBLISHABLE_KEY", ""),
        "STRIPE_WEBHOOK_SECRET": os.environ.get("STRIPE_WEBHOOK_SECRET", ""),
        "STRIPE_API_BASE": os.environ.get("STRIPE_API_BASE", ""),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_ENABLED": os.environ.get("RATELIMIT_ENABLED", "true").lower() != "false",
        "RATELIMIT_KEY_PREFIX": os.environ.get("RATELIMIT_KEY_PREFIX", "scheduler"),
        # Redis down: count in each process's memory meanwhile, rather than fail enrolments.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "ENROL_RATE_LIMIT": os.environ.get("ENROL_RATE_LIMIT", "20 per minute;200 per hour"),
        "ROTATE_RATE_LIMIT": os.environ.get("ROTATE_RATE_LIMIT", "10 per hour"),
        "TRUSTED_PROXIES": _int("TRUSTED_PROXIES", 0),
        "LOG_FORMAT": _log_format(production),
        "METRICS_TOKEN": os.environ.get("METRICS_TOKEN", ""),
    }


def _log_format(production: bool) -> str:
    value = os.environ.get("LOG_FORMAT", "json" if production else "text").strip().lower()
    if value not in ("json", "text"):
        raise ValueError(f"LOG_FORMAT must be json or text, not {value!r}.")
    return value


class ConfigError(RuntimeError):
    """A setting the service refuses to start with; the message says what to set."""


def check(config: dict) -> None:
    """Refuse to start with settings that would leak or break things; say what to set instead."""
    problems = []
    for name in ("CLINIC_NAME", "MAIL_FROM"):
        value = config.get(name) or ""
        if any(ch in value for ch in "\r\n\x85\u2028\u2029") or any(ord(ch) < 32 for ch in value):
            problems.append(f"{name} must be one line of text (it goes into every email's headers).")
    if config.get("TRUSTED_PROXIES", 0) < 0:
        problems.append("TRUSTED_PROXIES must be 0 (no proxy) or the number of proxies in front of the service.")
    if config.get("PRODUCTION"):
        if not config.get("SECRET_KEY_FROM_ENVIRONMENT") or config.get("SECRET_KEY") in _KNOWN_SECRET_KEYS:
            problems.append(
                "SECRET_KEY must be set in production: a long random value kept secret, for example the output "
                "of `python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`."
            )
        if not str(config.get("PUBLIC_BASE_URL", "")).startswith("https://"):
            problems.append(
                "PUBLIC_BASE_URL must be the service's https:// address in production (links in emails carry "
                f"tokens), for example https://groups.example.org; it is {config.get('PUBLIC_BASE_URL')!r}."
            )
    if problems:
        hint = (
            " (Production because SCHEDULER_ENV/FLASK_ENV=production or DATABASE_URL is set; "
            "SCHEDULER_ENV=development runs with local defaults.)"
            if config.get("PRODUCTION")
            else ""
        )
        raise ConfigError("Refusing to start: " + " ".join(problems) + hint)


# Keys that appear in this repository or its docs: never good enough for production.
_KNOWN_SECRET_KEYS = {"", "dev", "change-me", "changeme", "secret", "test-secret-key"}


def for_tests(database_url: str, **overrides) -> dict:
    """A configuration for the test suite: nothing read from the environment."""
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "PUBLIC_BASE_URL": "https://scheduler.test",
        "CLINIC_NAME": "Test Clinic",
        "CLINIC_ADDRESS": "1 Example Street, Springfield",
        "CLINIC_TAX_ID": "",
        "CLINIC_LOCALE": "en_US",
        "CLINIC_TIMEZONE": "America/New_York",
        "CHANGE_NOTICE_DELAY_MINUTES": 10,
        "STAFF_NOTICE_DELAY_SECONDS": 120,
        "CLINIC_PHONE": "+1 555 0100",
        "CLINIC_NPI": "",
        "CLINIC_EMAIL": "desk@clinic.test",
        "PAYMENT_INSTRUCTIONS": DEFAULT_PAYMENT_INSTRUCTIONS,
        "REFUND_POLICY_NOTE": DEFAULT_REFUND_POLICY_NOTE,
        "STRIPE_JS_URL": STRIPE_JS_URL,
        "SESSION_COOKIE_SECURE": False,
        "MAIL_URL": "",
        "MAIL_FROM": "Group programs <groups@scheduler.test>",
        "MAIL_DIR": "",
        "REMINDER_HOURS": 24,
        "RETENTION_DAYS": 0,
        "JOIN_OPENS_MINUTES": 15,
        "ASSESSMENT_NOTICE_MINUTES": 120,
        "DB_LOCK_TIMEOUT_SECONDS": 10,
        "CLOCK_FROM_DATABASE": False,  # time-machine moves this machine's clock in the tests
        "MAIL_TIMEOUT": 30,
        "STRIPE_SECRET_KEY": "",
        "STRIPE_PUBLISHABLE_KEY": "",
        "STRIPE_WEBHOOK_SECRET": "",
        "STRIPE_API_BASE": "",
        "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_ENABLED": False,
        "RATELIMIT_KEY_PREFIX": "scheduler-test",
        "ENROL_RATE_LIMIT": "20 per minute;200 per hour",
        "ROTATE_RATE_LIMIT": "10 per hour",
        "TRUSTED_PROXIES": 0,
        "LOG_FORMAT": "text",
        "METRICS_TOKEN": "",
    }
    config.update(overrides)
    return config

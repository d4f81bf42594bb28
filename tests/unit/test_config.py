"""Settings from the environment, with safe local defaults."""

from scheduler.foundation import config


def test_platform_postgres_urls_use_psycopg3():
    assert config.normalise_database_url("postgres://u:p@db:5432/x") == "postgresql+psycopg://u:p@db:5432/x"
    assert config.normalise_database_url("postgresql://u@db/x") == "postgresql+psycopg://u@db/x"
    assert config.normalise_database_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


def test_defaults_need_no_environment(monkeypatch, tmp_path):
    for name in (
        "DATABASE_URL",
        "SECRET_KEY",
        "PUBLIC_BASE_URL",
        "PORT",
        "MAIL_URL",
        "MAIL_DIR",
        "STRIPE_SECRET_KEY",
        "REMINDER_HOURS",
        "RATELIMIT_ENABLED",
        "HOST",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SCHEDULER_INSTANCE_DIR", str(tmp_path / "instance"))
    settings = config.from_environment()
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'instance' / 'scheduler.db'}"
    assert settings["MAIL_DIR"] == str(tmp_path / "instance" / "mail")
    assert settings["PUBLIC_BASE_URL"] == "http://127.0.0.1:5000"
    assert settings["MAIL_URL"] == "" and settings["STRIPE_SECRET_KEY"] == ""  # files and manual payments
    assert settings["REMINDER_HOURS"] == 24 and settings["RATELIMIT_ENABLED"] is True
    # The generated secret key is kept, so restarts (and several workers) agree on it.
    assert len(settings["SECRET_KEY"]) > 40 and config.from_environment()["SECRET_KEY"] == settings["SECRET_KEY"]
    assert (tmp_path / "instance" / "secret_key").stat().st_mode & 0o077 == 0


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://app@127.0.0.1/app")
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://groups.example.org/")
    monkeypatch.setenv("REMINDER_HOURS", "12")
    settings = config.from_environment()
    assert settings["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")
    assert settings["SECRET_KEY"] == "from-env" and settings["PUBLIC_BASE_URL"] == "https://groups.example.org"
    assert settings["REMINDER_HOURS"] == 12


def test_a_malformed_number_says_which_variable(monkeypatch):
    import pytest

    monkeypatch.setenv("REMINDER_HOURS", "a day")
    with pytest.raises(ValueError, match="REMINDER_HOURS must be a whole number"):
        config.from_environment()


def test_without_an_instance_setting_local_state_lives_in_the_repository_instance_folder(monkeypatch):
    monkeypatch.delenv("SCHEDULER_INSTANCE_DIR", raising=False)
    assert config.instance_dir() == config.ROOT / "instance"


def test_links_follow_the_port_when_no_public_base_url_is_set(monkeypatch, tmp_path):
    monkeypatch.setenv("SCHEDULER_INSTANCE_DIR", str(tmp_path))
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    monkeypatch.setenv("PORT", "8000")
    monkeypatch.delenv("HOST", raising=False)
    assert config.from_environment()["PUBLIC_BASE_URL"] == "http://127.0.0.1:8000"
    # The host `make run` serves on (HOST), so that a printed link opens where the cookie is set.
    monkeypatch.setenv("HOST", "localhost")
    assert config.from_environment()["PUBLIC_BASE_URL"] == "http://localhost:8000"
    monkeypatch.setenv("HOST", "0.0.0.0")  # every interface: this machine's own address
    assert config.from_environment()["PUBLIC_BASE_URL"] == "http://127.0.0.1:8000"
    monkeypatch.setenv("PUBLIC_BASE_URL", "")  # set but empty, as `PUBLIC_BASE_URL= make run` leaves it
    assert config.from_environment()["PUBLIC_BASE_URL"] == "http://127.0.0.1:8000"
    # A real address always wins over the port the process happens to listen on.
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://groups.example.org/")
    assert config.from_environment()["PUBLIC_BASE_URL"] == "https://groups.example.org"


def test_a_malformed_port_says_so(monkeypatch, tmp_path):
    import pytest

    monkeypatch.setenv("SCHEDULER_INSTANCE_DIR", str(tmp_path))
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    monkeypatch.setenv("PORT", "eighty")
    with pytest.raises(ValueError, match="PORT must be a whole number"):
        config.from_environment()


def test_retention_days_keeps_everything_unless_set(monkeypatch):
    import pytest

    monkeypatch.delenv("RETENTION_DAYS", raising=False)
    assert config.from_environment()["RETENTION_DAYS"] == 0
    monkeypatch.setenv("RETENTION_DAYS", "365")
    assert config.from_environment()["RETENTION_DAYS"] == 365
    monkeypatch.setenv("RETENTION_DAYS", "-1")
    with pytest.raises(ValueError, match="RETENTION_DAYS must be 0"):
        config.from_environment()


# ---- startup checks in production (issue 14) ------------------------------------------------------

PRODUCTION_ENV = ("SCHEDULER_ENV", "FLASK_ENV", "DATABASE_URL", "SECRET_KEY", "PUBLIC_BASE_URL", "LOG_FORMAT", "PORT")


def _clean(monkeypatch, tmp_path):
    for name in PRODUCTION_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SCHEDULER_INSTANCE_DIR", str(tmp_path / "instance"))


def _refusal(monkeypatch) -> str:
    import pytest

    from scheduler import create_app

    with pytest.raises(config.ConfigError) as refused:
        create_app()
    return str(refused.value)


def test_make_run_needs_nothing_set(monkeypatch, tmp_path):
    """`make run`: SQLite, no DATABASE_URL, no SECRET_KEY, http on loopback: starts."""
    from scheduler import create_app

    _clean(monkeypatch, tmp_path)
    app = create_app()
    assert app.config["PRODUCTION"] is False and app.config["LOG_FORMAT"] == "text"


def test_production_refuses_a_missing_secret_key_and_says_what_to_set(monkeypatch, tmp_path):
    _clean(monkeypatch, tmp_path)
    monkeypatch.setenv("SCHEDULER_ENV", "production")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://groups.example.org")
    message = _refusal(monkeypatch)
    assert "SECRET_KEY must be set" in message and "secrets.token_urlsafe" in message
    assert "PUBLIC_BASE_URL" not in message


def test_production_refuses_a_known_secret_key(monkeypatch, tmp_path):
    _clean(monkeypatch, tmp_path)
    monkeypatch.setenv("FLASK_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "change-me")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://groups.example.org")
    assert "SECRET_KEY must be set" in _refusal(monkeypatch)


def test_a_database_url_means_production_and_http_is_refused(monkeypatch, tmp_path):
    _clean(monkeypatch, tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    monkeypatch.setenv("SECRET_KEY", "a-long-random-production-key")
    message = _refusal(monkeypatch)
    assert "PUBLIC_BASE_URL must be the service's https:// address" in message
    assert "'http://127.0.0.1:5000'" in message and "SCHEDULER_ENV=development" in message
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://groups.example.org")
    from scheduler import create_app

    app = create_app()
    assert app.config["PRODUCTION"] and app.config["LOG_FORMAT"] == "json"


def test_scheduler_env_development_allows_a_local_database_url(monkeypatch, tmp_path):
    from scheduler import create_app

    _clean(monkeypatch, tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    monkeypatch.setenv("SCHEDULER_ENV", "development")
    assert create_app().config["PRODUCTION"] is False


def test_a_clinic_name_with_a_line_break_is_refused_anywhere(monkeypatch, tmp_path):
    _clean(monkeypatch, tmp_path)
    monkeypatch.setenv("CLINIC_NAME", "Clinic\nBcc: everyone@example.org")
    assert "CLINIC_NAME must be one line" in _refusal(monkeypatch)

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_the_models_have_no_changes_missing_from_migrations():
    """A model change without its migration would break `keepwell up` on an existing database."""
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit:
        pytest.fail(f"Run `keepwell manage makemigrations`: {out.getvalue()}")

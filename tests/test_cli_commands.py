"""The `keepwell` commands run in-process on the test database: their answers to mistakes, and their help."""

import pytest

from keepwell.cli import build_parser, main
from keepwell.core.models import ApiToken, Membership, Organization, User


def run(capsys, *args):
    """Run `keepwell *args` in this process; return (exit code, stdout, stderr)."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def ann(db):
    return User.objects.create_user("ann@example.org", "a long passphrase")


def test_it_creates_a_user_with_a_lowercase_email(capsys, db):
    code, out, _ = run(
        capsys, "user", "create", "--email", "Ann@Example.ORG", "--password", "a long passphrase"
    )
    assert (code, out) == (0, "Created user ann@example.org.\n")
    user = User.objects.get(email="ann@example.org")
    assert user.check_password("a long passphrase")
    assert not user.is_superuser


def test_it_creates_an_admin(capsys, db):
    assert run(capsys, "user", "create", "--email", "root@example.org", "--password", "pw", "--admin")[0] == 0
    assert User.objects.get(email="root@example.org").is_superuser


def test_it_warns_about_a_weak_password_but_creates_the_user(capsys, db):
    code, _, err = run(capsys, "user", "create", "--email", "ann@example.org", "--password", "123")
    assert code == 0
    assert "warning: weak password" in err
    assert User.objects.filter(email="ann@example.org").exists()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ("user", "create", "--email", "ANN@example.org", "--password", "pw"),
            1,
            "A user ann@example.org already exists.",
        ),
        (
            ("user", "create", "--email", "not-an-email", "--password", "pw"),
            2,
            "'not-an-email' is not a valid email",
        ),
        (("user", "create", "--email", "x@example.org", "--password", ""), 2, "--password may not be empty"),
        (
            ("org", "create", "--slug", "acme", "--name", "A", "--owner", "nobody@example.org"),
            1,
            "There is no user nobody@example.org. Create one first",
        ),
        (
            ("org", "create", "--slug", "Not A Slug", "--name", "A", "--owner", "ann@example.org"),
            2,
            "Use 1 to 50 lowercase letters, digits and hyphens",
        ),
        (
            ("token", "create", "--email", "ann@example.org", "--org", "nope"),
            1,
            "There is no organization 'nope'",
        ),
        (("up", "--port", "0"), 2, "--port must be between 1 and 65535"),
        (("up", "--workers", "0"), 2, "--workers must be 1 or more"),
    ],
)
def test_it_explains_a_mistake_in_one_line(capsys, ann, args, code, message):
    result, out, err = run(capsys, *args)
    assert result == code
    assert err.startswith("keepwell: error: ")
    assert message in err
    assert out == ""


def test_it_leaves_argument_errors_to_argparse_with_exit_code_2(capsys, db):
    with pytest.raises(SystemExit) as exc:
        main(["user", "create", "--email", "x@example.org"])
    assert exc.value.code == 2
    assert "--password" in capsys.readouterr().err


def test_it_creates_an_organization_owned_by_the_user(capsys, ann):
    code, out, _ = run(
        capsys, "org", "create", "--slug", "acme", "--name", "Acme Inc.", "--owner", "ann@example.org"
    )
    assert code == 0
    org = Organization.objects.get(slug="acme")
    assert org.name == "Acme Inc."
    assert Membership.objects.get(organization=org, user=ann).role == "owner"


def test_it_refuses_a_second_organization_with_the_same_slug(capsys, ann):
    run(capsys, "org", "create", "--slug", "acme", "--name", "Acme", "--owner", "ann@example.org")
    code, _, err = run(
        capsys, "org", "create", "--slug", "acme", "--name", "Other", "--owner", "ann@example.org"
    )
    assert code == 1
    assert "already exists. Choose another --slug" in err
    assert Organization.objects.get(slug="acme").name == "Acme"


def test_it_prints_a_token_that_authenticates_as_the_member(capsys, ann, client):
    run(capsys, "org", "create", "--slug", "acme", "--name", "Acme", "--owner", "ann@example.org")
    code, out, err = run(capsys, "token", "create", "--email", "ann@example.org", "--org", "acme")
    assert code == 0
    assert "read-only token" in err
    plain = out.strip()
    assert "\n" not in plain
    row = ApiToken.authenticate(plain)
    assert (row.user, row.organization.slug, row.write) == (ann, "acme", False)
    response = client.get("/api/v1/findings", headers={"Authorization": f"Bearer {plain}"})
    assert response.status_code == 200
    assert (
        client.post(
            "/api/v1/services",
            {"name": "X", "slug": "x"},
            content_type="application/json",
            headers={"Authorization": f"Bearer {plain}"},
        ).status_code
        == 403
    )


def test_it_prints_a_write_token_when_asked(capsys, ann):
    run(capsys, "org", "create", "--slug", "acme", "--name", "Acme", "--owner", "ann@example.org")
    code, out, _ = run(capsys, "token", "create", "--email", "ann@example.org", "--org", "acme", "--write")
    assert code == 0
    assert ApiToken.authenticate(out.strip()).write


def test_it_gives_tokens_only_to_members_of_the_organization(capsys, ann):
    User.objects.create_user("eve@example.org", "a long passphrase")
    run(capsys, "org", "create", "--slug", "acme", "--name", "Acme", "--owner", "ann@example.org")
    code, out, err = run(capsys, "token", "create", "--email", "eve@example.org", "--org", "acme")
    assert code == 1
    assert "eve@example.org is not a member of acme" in err
    assert out == ""
    assert not ApiToken.objects.exists()


def test_it_explains_every_command_in_the_list_of_commands():
    def undescribed(parser, words=()):
        for action in parser._actions:
            if action.__class__.__name__ != "_SubParsersAction":
                continue
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                if not helps.get(name):
                    yield " ".join((*words, name))
                yield from undescribed(sub, (*words, name))

    assert list(undescribed(build_parser())) == []


def test_it_finds_the_commands_of_apps(capsys, tmp_path, monkeypatch):
    # An app's cli.py with register(subparsers) adds its commands without touching keepwell/cli.py.
    import sys

    import keepwell

    app = tmp_path / "plugin_app_for_test"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "cli.py").write_text(
        "def register(subparsers):\n"
        "    p = subparsers.add_parser('hello', help='say hello')\n"
        "    p.add_argument('--name', default='world')\n"
        "    p.set_defaults(func=lambda args: print(f'hello {args.name}') or 0, django=False)\n"
    )
    monkeypatch.setattr(keepwell, "__path__", [*keepwell.__path__, str(tmp_path)])
    try:
        assert run(capsys, "hello", "--name", "ann")[:2] == (0, "hello ann\n")
    finally:
        sys.modules.pop("keepwell.plugin_app_for_test.cli", None)
        sys.modules.pop("keepwell.plugin_app_for_test", None)

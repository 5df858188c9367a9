"""`keepwell user|org|token create`, `keepwell manage` and `keepwell demo`: administration from a shell."""

import argparse
import sys

from . import CommandError, ensure_database


def register(subparsers) -> None:
    user = subparsers.add_parser("user", help="manage users", description="Manage users.")
    user_sub = user.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = user_sub.add_parser(
        "create", help="create a user", description="Create a user who signs in with EMAIL and PASSWORD."
    )
    create.add_argument("--email", required=True, help="the address the user signs in with")
    create.add_argument("--password", required=True, help="the user's password")
    create.add_argument("--admin", action="store_true", help="also give access to the operators' /admin/")
    create.set_defaults(func=user_create)

    org = subparsers.add_parser("org", help="manage organizations", description="Manage organizations.")
    org_sub = org.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = org_sub.add_parser(
        "create",
        help="create an organization",
        description="Create an organization owned by an existing user.",
    )
    create.add_argument("--slug", required=True, help="short name used in URLs, e.g. acme")
    create.add_argument("--name", required=True, help="display name, e.g. 'Acme Inc.'")
    create.add_argument("--owner", required=True, metavar="EMAIL", help="email of the user who owns it")
    create.set_defaults(func=org_create)

    token = subparsers.add_parser("token", help="manage API tokens", description="Manage API tokens.")
    token_sub = token.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = token_sub.add_parser(
        "create",
        help="create an API token (printed alone on the last line)",
        description=(
            "Create an API token for a member of an organization. The token is printed once, alone on the "
            "last line of standard output; only its hash is stored."
        ),
    )
    create.add_argument("--email", required=True, help="the member the token acts as")
    create.add_argument(
        "--org", required=True, metavar="SLUG", help="the organization the token is scoped to"
    )
    create.add_argument("--write", action="store_true", help="allow changes (read-only without it)")
    create.add_argument("--name", default="", help="a label to tell tokens apart (default: 'cli')")
    create.set_defaults(func=token_create)

    manage = subparsers.add_parser(
        "manage",
        help="run a Django management command (migrate, createsuperuser, shell, ...)",
        description="Run Django's manage.py with keepwell's settings, e.g. `keepwell manage migrate`.",
        add_help=False,
    )
    manage.add_argument("arguments", nargs=argparse.REMAINDER, help="the management command and its options")
    manage.set_defaults(func=manage_command)

    demo = subparsers.add_parser(
        "demo",
        help="seed a demo organization so every page shows something",
        description=(
            "Create (or refresh) the organization 'demo' with services, findings in every state and severity, "
            "a channel, a routing rule, a maintenance window, releases and deploys. Running it again changes "
            "nothing that is already there. With --owner, that user becomes an owner of the demo."
        ),
    )
    demo.add_argument("--owner", metavar="EMAIL", help="an existing user to make an owner of the demo")
    demo.set_defaults(func=demo_command)


def _valid_email(email: str) -> str:
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise CommandError(f"{email!r} is not a valid email address.", code=2) from None
    return email


def _user(email: str):
    from keepwell.core.models import User

    user = User.objects.filter(email__iexact=email.strip()).first()
    if user is None:
        raise CommandError(
            f"There is no user {email}. Create one first: keepwell user create --email {email} ..."
        )
    return user


def user_create(args) -> int:
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    from keepwell.core.models import User

    ensure_database()
    email = _valid_email(args.email)
    if not args.password:
        raise CommandError("--password may not be empty.", code=2)
    if User.objects.filter(email__iexact=email).exists():
        raise CommandError(f"A user {email} already exists.")
    try:
        validate_password(args.password)
    except ValidationError as exc:
        # A script may need a simple password on a test install; say it, don't refuse.
        print(f"keepwell: warning: weak password: {' '.join(exc.messages)}", file=sys.stderr)
    if args.admin:
        User.objects.create_superuser(email, args.password)
    else:
        User.objects.create_user(email, args.password)
    print(f"Created {'admin ' if args.admin else ''}user {email}.")
    return 0


def org_create(args) -> int:
    from django.core.exceptions import ValidationError
    from django.db import transaction

    from keepwell.core.models import Membership, Organization, Role

    ensure_database()
    owner = _user(args.owner)
    slug = args.slug.strip()
    org = Organization(slug=slug, name=args.name.strip())
    try:
        org.full_clean(validate_unique=False)
    except ValidationError as exc:
        problems = "; ".join(f"--{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
        raise CommandError(problems, code=2) from None
    if Organization.objects.filter(slug=slug).exists():
        raise CommandError(f"An organization with the slug {slug!r} already exists. Choose another --slug.")
    with transaction.atomic():
        org.save()
        Membership.objects.create(organization=org, user=owner, role=Role.OWNER)
    print(f"Created organization {org.slug} ({org.name}), owned by {owner.email}.")
    return 0


def token_create(args) -> int:
    from keepwell.core.models import ApiToken, Organization

    ensure_database()
    user = _user(args.email)
    org = Organization.objects.filter(slug=args.org.strip()).first()
    if org is None:
        raise CommandError(f"There is no organization {args.org!r}. Create it with: keepwell org create ...")
    if org.role_of(user) is None:
        raise CommandError(f"{user.email} is not a member of {org.slug}; a token acts as a member.")
    _, plain = ApiToken.issue(org, user, write=args.write, name=args.name or "cli")
    scope = "read-write" if args.write else "read-only"
    # The explanation goes to stderr so that TOKEN=$(keepwell token create ...) captures the token alone.
    print(f"Created a {scope} token for {user.email} in {org.slug}. It is shown once:", file=sys.stderr)
    print(plain)
    return 0


def manage_command(args) -> int:
    from django.core.management import execute_from_command_line

    execute_from_command_line(["keepwell manage", *args.arguments])
    return 0


def demo_command(args) -> int:
    from keepwell import demo

    ensure_database()
    owner = _user(args.owner) if args.owner else None
    summary = demo.seed(owner=owner)
    print(summary)
    return 0

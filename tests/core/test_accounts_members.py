"""Invitations by email, the invitation link, and the members page: roles, removal, the last owner."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from keepwell.core import invitations
from keepwell.core.models import ApiToken, AuditEvent, Invitation, Membership, Role, User

PASSWORD = "correct horse battery staple"


def members_url(org="acme"):
    return reverse("members", args=[org])


def client_for(user):
    c = Client()
    c.force_login(user)
    return c


def invite_link(mail):
    return re.search(r"http://testserver(/invite/[\w-]+/)", mail.get_content()).group(1)


@pytest.fixture
def dora_invited(acme, alice, smtp_server):
    """Alice invited dora@example.org as admin; yields the path of the link in the mail."""
    invitations.invite(acme, "dora@example.org", Role.ADMIN, alice)
    return invite_link(smtp_server[-1])


def test_an_admin_invites_by_email_and_the_mail_carries_the_link(alice_client, acme, smtp_server):
    response = alice_client.post(
        reverse("members-invite", args=["acme"]), {"email": "Dora@Example.org", "role": "member"}
    )
    assert response.status_code == 302
    invitation = Invitation.objects.get(organization=acme)
    assert invitation.email == "dora@example.org" and invitation.role == "member"
    mail = smtp_server[0]
    assert mail.envelope_to == ["dora@example.org"]
    assert "invites you to Acme" in mail["Subject"]
    assert invite_link(mail).startswith("/invite/")
    page = alice_client.get(members_url()).content.decode()
    assert "dora@example.org" in page and "Revoke" in page


def test_a_new_person_sets_a_name_and_password_and_is_signed_in(client, acme, dora_invited):
    page = client.get(dora_invited)
    assert page.status_code == 200
    assert "Join Acme" in page.content.decode()
    response = client.post(
        dora_invited,
        {"name": "Dora", "password": "a good long password", "password_again": "a good long password"},
    )
    assert response.status_code == 302
    assert response.url == reverse("org-overview", args=["acme"])
    dora = User.objects.get(email="dora@example.org")
    assert dora.name == "Dora" and dora.check_password("a good long password")
    assert Membership.objects.get(organization=acme, user=dora).role == "admin"
    assert client.session["_auth_user_id"] == str(dora.pk)
    assert AuditEvent.objects.filter(action="accept_invitation", organization=acme, actor=dora).exists()
    # The membership it created is attributed to dora, not to "system".
    joined = AuditEvent.objects.get(
        action="create", object_type="core.membership", organization=acme, actor=dora
    )
    assert joined.ip == "127.0.0.1"


def test_a_new_person_gets_clear_errors_for_bad_passwords(client, dora_invited):
    response = client.post(
        dora_invited, {"name": "Dora", "password": "a good long password", "password_again": "x"}
    )
    assert response.status_code == 400
    assert "The two passwords differ" in response.content.decode()
    response = client.post(dora_invited, {"name": "Dora", "password": "short", "password_again": "short"})
    assert "too short" in response.content.decode()
    assert not User.objects.filter(email="dora@example.org").exists()


def test_a_used_link_says_so(client, acme, dora_invited):
    client.post(
        dora_invited,
        {"name": "Dora", "password": "a good long password", "password_again": "a good long password"},
    )
    response = Client().get(dora_invited)
    assert response.status_code == 410
    assert "has been used already" in response.content.decode()


def test_an_expired_link_says_so(client, acme, dora_invited):
    Invitation.objects.update(expires=timezone.now() - timedelta(minutes=1))
    response = client.get(dora_invited)
    assert response.status_code == 410
    assert "expired on" in response.content.decode()
    assert "Ask an admin" in response.content.decode()


def test_an_unknown_link_says_so(client, db):
    response = client.get(reverse("invite-accept", args=["not-a-real-token"]))
    assert response.status_code == 410
    assert "This invitation link is not valid" in response.content.decode()


def test_a_signed_in_invitee_joins_with_one_button(acme, alice, other_org, charlie, smtp_server):
    invitations.invite(acme, "charlie@example.org", Role.VIEWER, alice)
    link = invite_link(smtp_server[-1])
    c = client_for(charlie)
    assert "Join Acme" in c.get(link).content.decode()
    assert not Membership.objects.filter(organization=acme, user=charlie).exists()  # GET changes nothing
    response = c.post(link)
    assert response.status_code == 302
    assert Membership.objects.get(organization=acme, user=charlie).role == "viewer"


def test_an_existing_person_who_is_signed_out_is_asked_to_sign_in(client, acme, alice, charlie, smtp_server):
    invitations.invite(acme, "charlie@example.org", Role.MEMBER, alice)
    link = invite_link(smtp_server[-1])
    response = client.get(link)
    assert "You already have an account" in response.content.decode()
    assert response.context["login_url"] == f"{reverse('login')}?next={link.replace('/', '%2F')}"
    # Nobody can take over the existing account by posting a password.
    client.post(
        link, {"name": "x", "password": "a good long password", "password_again": "a good long password"}
    )
    assert not charlie.__class__.objects.get(pk=charlie.pk).check_password("a good long password")
    assert not Membership.objects.filter(organization=acme, user=charlie).exists()


def test_someone_signed_in_as_another_email_cannot_accept(bob, dora_invited, acme):
    c = client_for(bob)
    response = c.post(dora_invited)
    assert response.status_code == 403
    assert "This invitation is for dora@example.org, but you are signed in as bob@example.org" in (
        response.content.decode()
    )
    assert Invitation.objects.get().accepted_at is None


def test_inviting_a_member_again_is_refused_clearly(alice_client, bob, smtp_server):
    response = alice_client.post(
        reverse("members-invite", args=["acme"]), {"email": bob.email, "role": "member"}
    )
    assert response.status_code == 400
    assert "bob@example.org is already a member of Acme" in response.content.decode()
    assert smtp_server == []


def test_a_new_invitation_replaces_the_open_one(acme, alice, smtp_server):
    invitations.invite(acme, "dora@example.org", Role.MEMBER, alice)
    first = invite_link(smtp_server[-1])
    invitations.invite(acme, "dora@example.org", Role.ADMIN, alice)
    assert Invitation.objects.filter(email="dora@example.org").count() == 1
    assert Client().get(first).status_code == 410


def test_only_owners_invite_owners(acme, alice, bob, smtp_server):
    bob_membership = Membership.objects.get(user=bob)
    bob_membership.role = Role.ADMIN
    bob_membership.save()
    c = client_for(bob)
    response = c.post(reverse("members-invite", args=["acme"]), {"email": "eve@example.org", "role": "owner"})
    assert response.status_code == 400
    assert not Invitation.objects.exists()
    assert 'value="owner"' not in c.get(members_url()).content.decode()


def test_members_and_viewers_see_the_list_but_cannot_change_it(acme, bob, victor, alice):
    c = client_for(victor)
    page = c.get(members_url())
    assert page.status_code == 200
    assert "alice@example.org" in page.content.decode()
    assert "Send invitation" not in page.content.decode()
    alice_m = Membership.objects.get(user=alice)
    for url, data in [
        (reverse("members-invite", args=["acme"]), {"email": "x@example.org", "role": "viewer"}),
        (reverse("member-role", args=["acme", alice_m.pk]), {"role": "viewer"}),
        (reverse("member-remove", args=["acme", alice_m.pk]), {}),
    ]:
        assert client_for(bob).post(url, data).status_code == 403
        assert c.post(url, data).status_code == 403
    assert Membership.objects.get(user=alice).role == "owner"


def test_an_admin_changes_roles_but_not_owners(acme, alice, bob, victor):
    admin = Membership.objects.get(user=bob)
    admin.role = Role.ADMIN
    admin.save()
    c = client_for(bob)
    victor_m = Membership.objects.get(user=victor)
    assert c.post(reverse("member-role", args=["acme", victor_m.pk]), {"role": "member"}).status_code == 302
    assert Membership.objects.get(pk=victor_m.pk).role == "member"
    c.post(reverse("member-role", args=["acme", victor_m.pk]), {"role": "owner"})
    assert Membership.objects.get(pk=victor_m.pk).role == "member"
    alice_m = Membership.objects.get(user=alice)
    response = c.post(reverse("member-role", args=["acme", alice_m.pk]), {"role": "admin"}, follow=True)
    assert "Only owners may grant or take away the owner role." in response.content.decode()
    assert Membership.objects.get(pk=alice_m.pk).role == "owner"
    response = c.post(reverse("member-remove", args=["acme", alice_m.pk]), follow=True)
    assert "Only owners may remove an owner." in response.content.decode()


def test_the_last_owner_cannot_be_demoted_or_removed(alice_client, alice, acme, bob):
    alice_m = Membership.objects.get(user=alice)
    response = alice_client.post(
        reverse("member-role", args=["acme", alice_m.pk]), {"role": "admin"}, follow=True
    )
    assert "alice@example.org is the last owner of Acme. Make someone else an owner first." in (
        response.content.decode()
    )
    response = alice_client.post(reverse("member-remove", args=["acme", alice_m.pk]), follow=True)
    assert "is the last owner of Acme" in response.content.decode()
    assert Membership.objects.get(pk=alice_m.pk).role == "owner"

    bob_m = Membership.objects.get(user=bob)
    alice_client.post(reverse("member-role", args=["acme", bob_m.pk]), {"role": "owner"})
    alice_client.post(reverse("member-role", args=["acme", alice_m.pk]), {"role": "admin"})
    assert Membership.objects.get(pk=alice_m.pk).role == "admin"


def test_removing_a_member_revokes_their_tokens_here(alice_client, acme, bob):
    _, plain = ApiToken.issue(acme, bob, write=True)
    bob_m = Membership.objects.get(user=bob)
    response = alice_client.post(reverse("member-remove", args=["acme", bob_m.pk]))
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=bob_m.pk).exists()
    assert ApiToken.authenticate(plain) is None
    assert AuditEvent.objects.filter(
        action="delete", object_type="core.membership", organization=acme
    ).exists()


def test_an_admin_revokes_an_invitation(alice_client, acme, dora_invited):
    invitation = Invitation.objects.get()
    response = alice_client.post(reverse("invitation-revoke", args=["acme", invitation.pk]))
    assert response.status_code == 302
    assert not Invitation.objects.exists()
    assert Client().get(dora_invited).status_code == 410


def test_other_organizations_cannot_reach_the_members_or_their_rows(
    charlie_client, alice, acme, dora_invited
):
    alice_m = Membership.objects.get(user=alice)
    invitation = Invitation.objects.get()
    assert charlie_client.get(members_url()).status_code == 404
    assert charlie_client.post(reverse("member-remove", args=["acme", alice_m.pk])).status_code == 404
    assert charlie_client.post(reverse("invitation-revoke", args=["acme", invitation.pk])).status_code == 404
    # Nor through their own organization's URLs with acme's ids.
    assert charlie_client.post(reverse("member-remove", args=["globex", alice_m.pk])).status_code == 404
    assert (
        charlie_client.post(reverse("invitation-revoke", args=["globex", invitation.pk])).status_code == 404
    )
    assert Membership.objects.filter(pk=alice_m.pk).exists() and Invitation.objects.exists()


def test_a_mail_failure_keeps_the_invitation_and_says_what_to_do(alice_client, acme, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens on the discard port
    response = alice_client.post(
        reverse("members-invite", args=["acme"]), {"email": "dora@example.org", "role": "member"}, follow=True
    )
    assert response.status_code == 200
    assert "the mail could not be sent" in response.content.decode()
    assert Invitation.objects.filter(email="dora@example.org").exists()

"""factory_boy factories. Rows whose counters matter (members, messages) are better made
through the services; these make plain rows for setting up a scene."""

from __future__ import annotations

import factory

from apps.accounts.models import Account
from apps.channels.models import Channel
from apps.members.models import Member, Role
from apps.messages.models import Message
from apps.organizations.models import Organization, StaffRole


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"org{n}")
    name = factory.LazyAttribute(lambda o: o.slug.title())


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    password = factory.django.Password("correct horse battery staple")


class StaffRoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffRole

    organization = factory.SubFactory(OrganizationFactory)
    account = factory.SubFactory(AccountFactory)
    role = StaffRole.Role.MODERATOR


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    organization = factory.SubFactory(OrganizationFactory)
    user_id = factory.Sequence(lambda n: f"user-{n}")
    display_name = factory.Sequence(lambda n: f"User {n}")


class RoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Role

    organization = factory.SubFactory(OrganizationFactory)
    role_id = factory.Sequence(lambda n: f"role-{n}")
    permissions = factory.LazyFunction(list)


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel

    organization = factory.SubFactory(OrganizationFactory)
    channel_id = factory.Sequence(lambda n: f"channel-{n}")
    display_name = factory.Sequence(lambda n: f"Channel {n}")


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    channel = factory.SubFactory(ChannelFactory)
    organization = factory.SelfAttribute("channel.organization")
    author = factory.SubFactory(MemberFactory, organization=factory.SelfAttribute("..organization"))
    type = Message.Type.TEXT
    data = factory.Sequence(lambda n: {"text": f"message {n}"})

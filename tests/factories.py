import factory

from accounts.models import User

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    """Users with PASSWORD, created through the manager so the password is hashed."""

    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.test")

    @classmethod
    def _create(cls, model_class: type[User], *args: object, **kwargs: object) -> User:
        kwargs.setdefault("password", PASSWORD)
        return model_class.objects.create_user(*args, **kwargs)  # type: ignore[arg-type]


def make_user(**fields: object) -> User:
    """UserFactory with the User type (factory_boy's call is untyped)."""
    return UserFactory(**fields)  # type: ignore[return-value]

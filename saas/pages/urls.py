"""The landing pages' paths: the links in our emails and Stripe's return URLs point here
(FRONTEND_URL and BILLING_RETURN_URL)."""

from django.urls import path

from . import views

urlpatterns = [
    path("invitations/<str:token>", views.invitation_page, name="page-invitation"),
    path(
        "reset-password/<str:uid>/<str:token>",
        views.password_reset_page,
        name="page-password-reset",
    ),
    path("billing", views.billing_page, name="page-billing"),
    path("sso/complete", views.sso_complete_page, name="page-sso-complete"),
]

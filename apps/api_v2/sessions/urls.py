"""/api/v2/users/:userId/sessions: messaging API sessions (our extension of v2)."""

urlpatterns: list = []

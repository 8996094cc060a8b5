from django.urls import path

from apps.reminders import booking_views, views

app_name = "reminders"
urlpatterns = [
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("book/<str:token>/", booking_views.book, name="book"),
    path("cancel/<str:token>/", booking_views.cancel, name="cancel"),
]

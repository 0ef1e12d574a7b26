from django.urls import path

from dashboards import views

app_name = "dashboards"

urlpatterns = [
    path("", views.panel_home, name="home"),
    path("counts/", views.counts, name="counts"),
    path("<slug:tab>/", views.tab_home, name="tab"),
    path("<slug:tab>/<slug:view>/", views.panel_view, name="view"),
    path("<slug:tab>/<slug:view>/columns/", views.columns_save, name="columns"),
    path("<slug:tab>/<slug:view>/pivot/", views.pivot_save, name="pivot"),
    path("<slug:tab>/<slug:view>/export.csv", views.export_csv, name="export_csv"),
    path("<slug:tab>/<slug:view>/export.xlsx", views.export_xlsx, name="export_xlsx"),
]

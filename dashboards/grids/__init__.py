"""A small declarative grid framework for the panels.

* ``columns.Column``: key, pt-BR label, value/display, sort, header filter.
* ``grid.GridView``: a view of a tab, with its membership rule ``(user, now)``.
* ``registry``: the tabs and views; other view kinds subclass ``PanelView``.
* ``filtering``: the django-filter ``FilterSet`` generated from the columns.
* ``paging``: keyset pagination; ``periods``: the local-time periods.
* ``export``: CSV and XLSX of a grid.
"""

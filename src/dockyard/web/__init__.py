"""The hub's human face: server-rendered pages over the same domain services as the API.

``pages/`` holds one route module per area (accounts, lists, repo, files, ...), ``templates/``
their Jinja2 templates and ``static/`` the CSS, scripts and images served by Dockyard itself
(nothing is loaded from elsewhere: the hub runs air-gapped)."""

"""One route module per area of the site; :mod:`dockyard.web.router` lists them in match order."""

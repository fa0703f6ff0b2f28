"""Ratify's web pages: server-rendered HTML under `/ui` for officers, approvers, the board
secretariat, auditors and the public register (see `ratify.web.pages`).

`ratify.web.pages.router` is a FastAPI `APIRouter` with every page's route (importing
`ratify.web.pages` registers them); the composition root (`ratify.processes.app`)
includes it in the application. It serves its stylesheet itself, at
`/ui/static/ratify.css`. Rendering (the Jinja2 environment, its filters, the security
headers) is `ratify.web.render`.
"""

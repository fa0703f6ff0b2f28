"""Who people are and what they may do: users, roles, delegations, API tokens, passwords.

`tables` holds the tables (migration `i0001`, branch `identity`); `directory.Directory`
manages them, one module per concern (`users`, `sessions`, `signin`, `delegations`,
`tokens`; what they share in `base`); `values` holds what it hands out, among them the
`Principal` a signed-in person becomes; `errors` its refusals; `rules` the checks on ids,
roles, names and passwords; `oidc_subjects` the links to an identity provider's subjects.
The admin CLI (`ratify users ...`, `ratify tokens ...`) is `ratify.cli.users` and
`ratify.cli.admin`.
"""

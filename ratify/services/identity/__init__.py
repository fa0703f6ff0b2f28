"""Who people are and what they may do: users, roles, delegations, API tokens, passwords.

`ratify.services.identity.tables` holds the tables (migration `i0001`, branch `identity`);
`ratify.services.identity.service` the `Directory` that manages them and the `Principal` a signed-in
person becomes. The admin CLI (`ratify users ...`, `ratify tokens ...`) is `ratify.cli.users`
and `ratify.cli.admin`.
"""

from ratify.services.identity.service import (
    ApiToken,
    Delegated,
    Delegation,
    Directory,
    IdentityError,
    InvalidInput,
    NotPermitted,
    Principal,
    UnknownUser,
    User,
)

__all__ = [
    "ApiToken",
    "Delegated",
    "Delegation",
    "Directory",
    "IdentityError",
    "InvalidInput",
    "NotPermitted",
    "Principal",
    "UnknownUser",
    "User",
]

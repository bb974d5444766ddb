"""Entry point of the auth service: identities, roles and access decisions over gRPC."""

from datetime import timedelta

from fastapi import FastAPI
from ragchat_common.logs import get_logger
from ragchat_common.runtime import ServiceRuntime, serve

from ragchat_auth.api.servicer import SERVICE_NAME, AuthOperations, AuthService, register
from ragchat_auth.domain.accounts import Accounts, TokenPolicy
from ragchat_auth.domain.api_keys import ApiKeys
from ragchat_auth.domain.audit import AuditTrail
from ragchat_auth.domain.bootstrap import FirstOwner, create_first_owner
from ragchat_auth.domain.invitations import Invitations
from ragchat_auth.domain.members import Members
from ragchat_auth.domain.signing_keys import SigningKeys
from ragchat_auth.settings import AuthSettings
from ragchat_auth.store import MIGRATIONS

log = get_logger(__name__)


def create_app(settings: AuthSettings) -> FastAPI:
    """The auth process: its database, its gRPC server, and the operations HTTP endpoints."""
    runtime = ServiceRuntime.create(settings.service_name, settings)
    engine = runtime.use_postgres(settings.postgres, MIGRATIONS)

    passphrase = settings.key_passphrase.get_secret_value() if settings.key_passphrase else None
    access_ttl = timedelta(seconds=settings.access_token_ttl_s)
    keys = SigningKeys(engine, passphrase, access_ttl)
    accounts = Accounts(
        engine,
        keys,
        TokenPolicy(access_ttl, timedelta(seconds=settings.refresh_token_ttl_s)),
        registration_open=settings.registration_open,
    )
    ops = AuthOperations(
        accounts=accounts,
        invitations=Invitations(engine, accounts, timedelta(seconds=settings.invitation_ttl_s)),
        members=Members(engine),
        api_keys=ApiKeys(engine),
        signing_keys=keys,
        audit=AuditTrail(engine),
    )
    first_owner = FirstOwner(
        organisation=settings.bootstrap_organisation,
        email=settings.bootstrap_email,
        password=settings.bootstrap_password.get_secret_value()
        if settings.bootstrap_password
        else None,
        local_dir=settings.local_dir,
    )

    async def bootstrap() -> None:
        if passphrase is None:
            log.warning("AUTH_KEY_PASSPHRASE is not set: signing keys are stored unencrypted")
        await keys.ensure()
        await create_first_owner(engine, accounts, first_owner)

    async def nothing_to_release() -> None:
        return None

    runtime.add_resource("bootstrap", start=bootstrap, stop=nothing_to_release)
    runtime.serve_grpc(
        settings, registrars=[register(AuthService(ops))], service_names=[SERVICE_NAME]
    )
    return runtime.http_app("ragchat auth")


def run() -> None:
    """Start the auth service (console script ``ragchat-auth``)."""
    settings = AuthSettings()
    serve(create_app(settings))

from ragchat.v1 import principal_pb2 as _principal_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VerifyTokenRequest(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class VerifyApiKeyRequest(_message.Message):
    __slots__ = ("api_key", "origin")
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    api_key: str
    origin: str
    def __init__(self, api_key: _Optional[str] = ..., origin: _Optional[str] = ...) -> None: ...

class VerifyResponse(_message.Message):
    __slots__ = ("principal",)
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    principal: _principal_pb2.Principal
    def __init__(self, principal: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ...) -> None: ...

class AuthorizeRequest(_message.Message):
    __slots__ = ("principal", "action", "resource_type", "resource_id")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    principal: _principal_pb2.Principal
    action: str
    resource_type: str
    resource_id: str
    def __init__(self, principal: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ..., action: _Optional[str] = ..., resource_type: _Optional[str] = ..., resource_id: _Optional[str] = ...) -> None: ...

class AuthorizeResponse(_message.Message):
    __slots__ = ("allowed", "reason")
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    allowed: bool
    reason: str
    def __init__(self, allowed: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class ClientInfo(_message.Message):
    __slots__ = ("ip", "user_agent")
    IP_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    ip: str
    user_agent: str
    def __init__(self, ip: _Optional[str] = ..., user_agent: _Optional[str] = ...) -> None: ...

class Session(_message.Message):
    __slots__ = ("access_token", "access_expires_at_ms", "refresh_token", "refresh_expires_at_ms", "principal")
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ACCESS_EXPIRES_AT_MS_FIELD_NUMBER: _ClassVar[int]
    REFRESH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    REFRESH_EXPIRES_AT_MS_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    access_token: str
    access_expires_at_ms: int
    refresh_token: str
    refresh_expires_at_ms: int
    principal: _principal_pb2.Principal
    def __init__(self, access_token: _Optional[str] = ..., access_expires_at_ms: _Optional[int] = ..., refresh_token: _Optional[str] = ..., refresh_expires_at_ms: _Optional[int] = ..., principal: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ...) -> None: ...

class RegisterRequest(_message.Message):
    __slots__ = ("organisation_name", "email", "password", "display_name", "client")
    ORGANISATION_NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    organisation_name: str
    email: str
    password: str
    display_name: str
    client: ClientInfo
    def __init__(self, organisation_name: _Optional[str] = ..., email: _Optional[str] = ..., password: _Optional[str] = ..., display_name: _Optional[str] = ..., client: _Optional[_Union[ClientInfo, _Mapping]] = ...) -> None: ...

class LoginRequest(_message.Message):
    __slots__ = ("email", "password", "tenant_id", "client")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    email: str
    password: str
    tenant_id: str
    client: ClientInfo
    def __init__(self, email: _Optional[str] = ..., password: _Optional[str] = ..., tenant_id: _Optional[str] = ..., client: _Optional[_Union[ClientInfo, _Mapping]] = ...) -> None: ...

class RefreshRequest(_message.Message):
    __slots__ = ("refresh_token", "client")
    REFRESH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    refresh_token: str
    client: ClientInfo
    def __init__(self, refresh_token: _Optional[str] = ..., client: _Optional[_Union[ClientInfo, _Mapping]] = ...) -> None: ...

class LogoutRequest(_message.Message):
    __slots__ = ("refresh_token", "client")
    REFRESH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    refresh_token: str
    client: ClientInfo
    def __init__(self, refresh_token: _Optional[str] = ..., client: _Optional[_Union[ClientInfo, _Mapping]] = ...) -> None: ...

class LogoutResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ChangePasswordRequest(_message.Message):
    __slots__ = ("actor", "current_password", "new_password", "client")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    CURRENT_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    NEW_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    actor: _principal_pb2.Principal
    current_password: str
    new_password: str
    client: ClientInfo
    def __init__(self, actor: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ..., current_password: _Optional[str] = ..., new_password: _Optional[str] = ..., client: _Optional[_Union[ClientInfo, _Mapping]] = ...) -> None: ...

class CreateInvitationRequest(_message.Message):
    __slots__ = ("actor", "email", "role", "client")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    actor: _principal_pb2.Principal
    email: str
    role: str
    client: ClientInfo
    def __init__(self, actor: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ..., email: _Optional[str] = ..., role: _Optional[str] = ..., client: _Optional[_Union[ClientInfo, _Mapping]] = ...) -> None: ...

class Invitation(_message.Message):
    __slots__ = ("id", "email", "role", "token", "expires_at_ms")
    ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_MS_FIELD_NUMBER: _ClassVar[int]
    id: str
    email: str
    role: str
    token: str
    expires_at_ms: int
    def __init__(self, id: _Optional[str] = ..., email: _Optional[str] = ..., role: _Optional[str] = ..., token: _Optional[str] = ..., expires_at_ms: _Optional[int] = ...) -> None: ...

class AcceptInvitationRequest(_message.Message):
    __slots__ = ("token", "password", "display_name", "client")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    token: str
    password: str
    display_name: str
    client: ClientInfo
    def __init__(self, token: _Optional[str] = ..., password: _Optional[str] = ..., display_name: _Optional[str] = ..., client: _Optional[_Union[ClientInfo, _Mapping]] = ...) -> None: ...

class Member(_message.Message):
    __slots__ = ("user_id", "email", "display_name", "role", "joined_at_ms")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    JOINED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    email: str
    display_name: str
    role: str
    joined_at_ms: int
    def __init__(self, user_id: _Optional[str] = ..., email: _Optional[str] = ..., display_name: _Optional[str] = ..., role: _Optional[str] = ..., joined_at_ms: _Optional[int] = ...) -> None: ...

class ListMembersRequest(_message.Message):
    __slots__ = ("actor",)
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    actor: _principal_pb2.Principal
    def __init__(self, actor: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ...) -> None: ...

class ListMembersResponse(_message.Message):
    __slots__ = ("members",)
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    members: _containers.RepeatedCompositeFieldContainer[Member]
    def __init__(self, members: _Optional[_Iterable[_Union[Member, _Mapping]]] = ...) -> None: ...

class ChangeRoleRequest(_message.Message):
    __slots__ = ("actor", "user_id", "role", "client")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    actor: _principal_pb2.Principal
    user_id: str
    role: str
    client: ClientInfo
    def __init__(self, actor: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ..., user_id: _Optional[str] = ..., role: _Optional[str] = ..., client: _Optional[_Union[ClientInfo, _Mapping]] = ...) -> None: ...

class RemoveMemberRequest(_message.Message):
    __slots__ = ("actor", "user_id", "client")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    actor: _principal_pb2.Principal
    user_id: str
    client: ClientInfo
    def __init__(self, actor: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ..., user_id: _Optional[str] = ..., client: _Optional[_Union[ClientInfo, _Mapping]] = ...) -> None: ...

class RemoveMemberResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SetKnowledgeBaseGrantRequest(_message.Message):
    __slots__ = ("actor", "user_id", "kb_id", "granted", "client")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    KB_ID_FIELD_NUMBER: _ClassVar[int]
    GRANTED_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    actor: _principal_pb2.Principal
    user_id: str
    kb_id: str
    granted: bool
    client: ClientInfo
    def __init__(self, actor: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ..., user_id: _Optional[str] = ..., kb_id: _Optional[str] = ..., granted: _Optional[bool] = ..., client: _Optional[_Union[ClientInfo, _Mapping]] = ...) -> None: ...

class SetKnowledgeBaseGrantResponse(_message.Message):
    __slots__ = ("kb_ids",)
    KB_IDS_FIELD_NUMBER: _ClassVar[int]
    kb_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, kb_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class KnowledgeBaseEvent(_message.Message):
    __slots__ = ("actor", "kb_id")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    KB_ID_FIELD_NUMBER: _ClassVar[int]
    actor: _principal_pb2.Principal
    kb_id: str
    def __init__(self, actor: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ..., kb_id: _Optional[str] = ...) -> None: ...

class KnowledgeBaseEventResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ApiKey(_message.Message):
    __slots__ = ("id", "name", "kind", "prefix", "scopes", "kb_ids", "allowed_origins", "created_by", "created_at_ms", "last_used_at_ms", "revoked_at_ms")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    SCOPES_FIELD_NUMBER: _ClassVar[int]
    KB_IDS_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_ORIGINS_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    LAST_USED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    kind: str
    prefix: str
    scopes: _containers.RepeatedScalarFieldContainer[str]
    kb_ids: _containers.RepeatedScalarFieldContainer[str]
    allowed_origins: _containers.RepeatedScalarFieldContainer[str]
    created_by: str
    created_at_ms: int
    last_used_at_ms: int
    revoked_at_ms: int
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., kind: _Optional[str] = ..., prefix: _Optional[str] = ..., scopes: _Optional[_Iterable[str]] = ..., kb_ids: _Optional[_Iterable[str]] = ..., allowed_origins: _Optional[_Iterable[str]] = ..., created_by: _Optional[str] = ..., created_at_ms: _Optional[int] = ..., last_used_at_ms: _Optional[int] = ..., revoked_at_ms: _Optional[int] = ...) -> None: ...

class CreateApiKeyRequest(_message.Message):
    __slots__ = ("actor", "name", "kind", "scopes", "kb_ids", "allowed_origins", "client")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SCOPES_FIELD_NUMBER: _ClassVar[int]
    KB_IDS_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_ORIGINS_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    actor: _principal_pb2.Principal
    name: str
    kind: str
    scopes: _containers.RepeatedScalarFieldContainer[str]
    kb_ids: _containers.RepeatedScalarFieldContainer[str]
    allowed_origins: _containers.RepeatedScalarFieldContainer[str]
    client: ClientInfo
    def __init__(self, actor: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ..., name: _Optional[str] = ..., kind: _Optional[str] = ..., scopes: _Optional[_Iterable[str]] = ..., kb_ids: _Optional[_Iterable[str]] = ..., allowed_origins: _Optional[_Iterable[str]] = ..., client: _Optional[_Union[ClientInfo, _Mapping]] = ...) -> None: ...

class CreateApiKeyResponse(_message.Message):
    __slots__ = ("key", "secret")
    KEY_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    key: ApiKey
    secret: str
    def __init__(self, key: _Optional[_Union[ApiKey, _Mapping]] = ..., secret: _Optional[str] = ...) -> None: ...

class ListApiKeysRequest(_message.Message):
    __slots__ = ("actor",)
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    actor: _principal_pb2.Principal
    def __init__(self, actor: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ...) -> None: ...

class ListApiKeysResponse(_message.Message):
    __slots__ = ("keys",)
    KEYS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedCompositeFieldContainer[ApiKey]
    def __init__(self, keys: _Optional[_Iterable[_Union[ApiKey, _Mapping]]] = ...) -> None: ...

class RevokeApiKeyRequest(_message.Message):
    __slots__ = ("actor", "key_id", "client")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    actor: _principal_pb2.Principal
    key_id: str
    client: ClientInfo
    def __init__(self, actor: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ..., key_id: _Optional[str] = ..., client: _Optional[_Union[ClientInfo, _Mapping]] = ...) -> None: ...

class GetJwksRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetJwksResponse(_message.Message):
    __slots__ = ("jwks_json",)
    JWKS_JSON_FIELD_NUMBER: _ClassVar[int]
    jwks_json: str
    def __init__(self, jwks_json: _Optional[str] = ...) -> None: ...

class RotateSigningKeyRequest(_message.Message):
    __slots__ = ("actor", "client")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    actor: _principal_pb2.Principal
    client: ClientInfo
    def __init__(self, actor: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ..., client: _Optional[_Union[ClientInfo, _Mapping]] = ...) -> None: ...

class RotateSigningKeyResponse(_message.Message):
    __slots__ = ("kid",)
    KID_FIELD_NUMBER: _ClassVar[int]
    kid: str
    def __init__(self, kid: _Optional[str] = ...) -> None: ...

class RecordAuditRequest(_message.Message):
    __slots__ = ("actor", "action", "outcome", "target_type", "target_id", "detail_json", "client")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    TARGET_TYPE_FIELD_NUMBER: _ClassVar[int]
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    DETAIL_JSON_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    actor: _principal_pb2.Principal
    action: str
    outcome: str
    target_type: str
    target_id: str
    detail_json: str
    client: ClientInfo
    def __init__(self, actor: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ..., action: _Optional[str] = ..., outcome: _Optional[str] = ..., target_type: _Optional[str] = ..., target_id: _Optional[str] = ..., detail_json: _Optional[str] = ..., client: _Optional[_Union[ClientInfo, _Mapping]] = ...) -> None: ...

class RecordAuditResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class QueryAuditRequest(_message.Message):
    __slots__ = ("actor", "actor_id", "action", "since_ms", "until_ms", "before_id", "limit")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    SINCE_MS_FIELD_NUMBER: _ClassVar[int]
    UNTIL_MS_FIELD_NUMBER: _ClassVar[int]
    BEFORE_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    actor: _principal_pb2.Principal
    actor_id: str
    action: str
    since_ms: int
    until_ms: int
    before_id: int
    limit: int
    def __init__(self, actor: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ..., actor_id: _Optional[str] = ..., action: _Optional[str] = ..., since_ms: _Optional[int] = ..., until_ms: _Optional[int] = ..., before_id: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class AuditEntry(_message.Message):
    __slots__ = ("id", "at_ms", "actor_kind", "actor_id", "actor_label", "action", "target_type", "target_id", "outcome", "ip", "user_agent", "detail_json")
    ID_FIELD_NUMBER: _ClassVar[int]
    AT_MS_FIELD_NUMBER: _ClassVar[int]
    ACTOR_KIND_FIELD_NUMBER: _ClassVar[int]
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_LABEL_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    TARGET_TYPE_FIELD_NUMBER: _ClassVar[int]
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    DETAIL_JSON_FIELD_NUMBER: _ClassVar[int]
    id: int
    at_ms: int
    actor_kind: str
    actor_id: str
    actor_label: str
    action: str
    target_type: str
    target_id: str
    outcome: str
    ip: str
    user_agent: str
    detail_json: str
    def __init__(self, id: _Optional[int] = ..., at_ms: _Optional[int] = ..., actor_kind: _Optional[str] = ..., actor_id: _Optional[str] = ..., actor_label: _Optional[str] = ..., action: _Optional[str] = ..., target_type: _Optional[str] = ..., target_id: _Optional[str] = ..., outcome: _Optional[str] = ..., ip: _Optional[str] = ..., user_agent: _Optional[str] = ..., detail_json: _Optional[str] = ...) -> None: ...

class QueryAuditResponse(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[AuditEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[AuditEntry, _Mapping]]] = ...) -> None: ...
